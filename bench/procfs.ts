/**
 * Process metrics read from /proc of the test machine. Lab hosts share the pid namespace, so
 * a daemon's pid (nsenter execs without forking, and bin/gridmesh execs node) is readable here.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { basename } from 'node:path'

let clkTck: number | null = null

/** Clock ticks per second of utime/stime (CLK_TCK, 100 on Linux). */
export function ticksPerSecond (): number {
  if (clkTck === null) {
    try { clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { clkTck = 100 }
  }
  return clkTck
}

/** Resident set size in MiB (VmRSS), or null if the process is gone. */
export function rssMb (pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m?.[1] === undefined ? null : Number(m[1]) / 1024
  } catch { return null }
}

/** utime + stime of a process in clock ticks, or null if it is gone. */
export function cpuTicks (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may contain spaces) start at field 3 (state).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12]) // fields 14 (utime) and 15 (stime)
  } catch { return null }
}

/** The executable's file name ("node" for a daemon: bin/gridmesh execs node; its comm is "MainThread"), or '' if gone. */
export function exeName (pid: number): string {
  try { return basename(readlinkSync(`/proc/${pid}/exe`)) } catch { return '' }
}

function comm (pid: number | string): string {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { return '' }
}

function netns (pid: number | string): string | null {
  try { return readlinkSync(`/proc/${pid}/ns/net`) } catch { return null }
}

/**
 * The wireguard-go of a lab host: the process named wireguard-go in the host's network
 * namespace (the keeper's). A plain `pgrep -f` would also see every other lab's wireguard-go,
 * since the lab does not separate pid namespaces.
 */
export function wireguardGoPid (keeperPid: number): number | null {
  const ns = netns(keeperPid)
  if (ns === null) return null
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || comm(pid) !== 'wireguard-go') continue
    if (netns(pid) === ns) return Number(pid)
  }
  return null
}
