#!/usr/bin/env bash
# gridmesh lab: N "hosts", each a network namespace, on one or more bridged underlay segments.
#
#   default (one segment, n hosts):
#
#   ┌──────────────── <id>-hub ─────────────────┐
#   │                    br0                     │   bridge; ports <id>s0h<i>
#   └──────┬──────────────┬──────────────┬───────┘
#          │ veth         │ veth         │ veth
#   ┌──────┴─────┐ ┌──────┴─────┐ ┌──────┴─────┐
#   │  <id>-h1   │ │  <id>-h2   │ │  <id>-hN   │   eth0 10.77.0.<i>/24
#   │ eth0  lo   │ │ eth0  lo   │ │ eth0  lo   │        fd77:77::<i>/64 (nodad)
#   └────────────┘ └────────────┘ └────────────┘   + private mount ns: tmpfs /run/wireguard
#
#   --segments "1,2,3:3,4,5" (segment s = bridge br<s>, subnet 10.<77+s>.0.0/24, fd<77+s>:<77+s>::/64):
#
#   ┌──────────────────────── <id>-hub ─────────────────────────┐
#   │            br0 (A)                      br1 (B)            │
#   └───┬──────────┬──────────┬────────────┬──────────┬─────────┘
#       h1         h2         h3 eth0 ─ eth1 h3        h4        h5
#   10.77.0.1  10.77.0.2  10.77.0.3 / 10.78.0.3   10.78.0.4  10.78.0.5
#
# A host's interfaces are eth0, eth1, ... in the order of the segments it belongs to, so eth0 is
# always its primary underlay link (host 4 above has only eth0, on segment B).
#
# Every host has one long-lived "keeper" process (sleep infinity) that owns a private mount
# namespace with a tmpfs on /run/wireguard: wireguard-go's UAPI sockets live there, so every host
# can use the production interface name. Every command for a host runs via
# `nsenter --target <keeper> --mount --net`, so all of them see the same sockets.
#
# Faults live in nftables table `inet gridmesh_lab` inside the host namespaces:
#   cut i j   -> j's underlay addresses go into i's drop sets (and vice versa)
#   loss i p  -> `iifname "eth*" numgen random mod 100 < p drop` on input in host i
#
# Usage:
#   lab.sh create  <labid|auto> <n> [--segments "1,2,3:3,4,5"]   (prints the lab id)
#   lab.sh destroy <labid>            idempotent; kills every process in the lab's namespaces
#   lab.sh exec    <labid> <i> <cmd...>
#   lab.sh keeper  <labid> <i>        prints the keeper pid of host i
#   lab.sh hosts   <labid>            prints "<i> <ns> <keeper> <iface> <segment> <ipv4> <ipv6>"
#   lab.sh cut     <labid> <i> <j>   /   lab.sh heal <labid> <i> <j>
#   lab.sh loss    <labid> <i> <percent>     (0 removes the loss rule)
#   lab.sh list
# Lab ids match ^gm[0-9a-z]{1,6}$ (short: interface names are at most 15 chars; the gm prefix is
# what scripts/cleanup-lab.sh recognises). State and logs: $GRIDMESH_LAB_ROOT/<labid>
# (default /tmp/gridmesh-lab); KEEP_LAB=1 keeps that directory on destroy.
# Sourcing this file defines the lab_* functions without running the CLI.
set -euo pipefail

LAB_ROOT="${GRIDMESH_LAB_ROOT:-/tmp/gridmesh-lab}"
LAB_ID_RE='^gm[0-9a-z]{1,6}$'
LAB_MAX_SEGMENTS=8

lab_die () { echo "lab.sh: $*" >&2; exit 1; }

lab_check_id () {
  [[ "$1" =~ $LAB_ID_RE ]] || lab_die "bad lab id '$1': must match $LAB_ID_RE (e.g. gm1a2b3c)"
}

lab_check_index () {
  [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 250 )) || lab_die "bad host index '$1' (1..250)"
}

lab_dir () { echo "$LAB_ROOT/$1"; }
lab_hub () { echo "$1-hub"; }
lab_ns () { echo "$1-h$2"; }

lab_new_id () { echo "gm$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"; }

# Every namespace of a lab, hub last (hosts first so their veth peers vanish with them).
# <id>-w<i> are workload namespaces that tests and the demo create beside the lab.
lab_namespaces () {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1-[hw][0-9]+\$" || true
  ip netns list 2>/dev/null | awk '{print $1}' | grep -Fx "$1-hub" || true
}

# Prints the verified keeper pid of host i: the pid file must name a live process whose network
# namespace is the host's (guards against a recycled pid after a crash).
lab_keeper () {
  local id=$1 i=$2 ns pidfile pid
  ns=$(lab_ns "$id" "$i"); pidfile="$(lab_dir "$id")/h$i.keeper"
  [[ -r "$pidfile" ]] || lab_die "no keeper for host $i of lab $id (is the lab created?)"
  pid=$(<"$pidfile")
  [[ -e /run/netns/$ns && -e /proc/$pid/ns/net ]] || lab_die "keeper $pid of $ns is gone"
  [[ "$(stat -L -c %i "/run/netns/$ns")" == "$(stat -L -c %i "/proc/$pid/ns/net")" ]] \
    || lab_die "pid $pid is not the keeper of $ns"
  echo "$pid"
}

# Parses --segments "1,2,3:3,4,5" into LAB_SEGMENTS (one space-separated host list per segment).
lab_parse_segments () {
  local spec=$1 n=$2 seg h
  LAB_SEGMENTS=()
  if [[ -z "$spec" ]]; then LAB_SEGMENTS=("$(seq -s ' ' 1 "$n")"); return; fi
  IFS=':' read -r -a segs <<<"$spec"
  (( ${#segs[@]} <= LAB_MAX_SEGMENTS )) || lab_die "at most $LAB_MAX_SEGMENTS segments"
  for seg in "${segs[@]}"; do
    [[ "$seg" =~ ^[0-9]+(,[0-9]+)*$ ]] || lab_die "bad segment '$seg' in --segments '$spec'"
    for h in ${seg//,/ }; do (( h >= 1 && h <= n )) || lab_die "host $h in --segments is not in 1..$n"; done
    LAB_SEGMENTS+=("${seg//,/ }")
  done
  for (( h = 1; h <= n; h++ )); do
    [[ " ${LAB_SEGMENTS[*]} " =~ [[:space:]]$h[[:space:]] ]] || lab_die "host $h is on no segment"
  done
}

# Starts host i's keeper: a private mount namespace with a tmpfs on /run/wireguard, kept alive by
# `sleep infinity`. The inner shell writes its own pid only after the mount succeeded, and then
# execs sleep, so the pid file both names the keeper and means "ready". stdio goes to /dev/null
# so a caller reading our output (Node's execFile) is not held open by the keeper.
lab_start_keeper () {
  local id=$1 i=$2 ns pidfile
  ns=$(lab_ns "$id" "$i"); pidfile="$(lab_dir "$id")/h$i.keeper"
  mkdir -p /run/wireguard
  setsid ip netns exec "$ns" unshare --mount --propagation slave \
    sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run/wireguard && echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep infinity' \
    sh "$pidfile" </dev/null >/dev/null 2>&1 &
}

lab_wait_keepers () {
  local id=$1 n=$2 i tries
  for (( i = 1; i <= n; i++ )); do
    for (( tries = 0; tries < 100; tries++ )); do
      [[ -s "$(lab_dir "$id")/h$i.keeper" ]] && break
      sleep 0.05
    done
    lab_keeper "$id" "$i" >/dev/null
  done
}

lab_create () {
  local id=$1 n=$2 spec=${3:-} hub dir s i k ns port a4 a6 h
  [[ "$id" == auto ]] && id=$(lab_new_id)
  lab_check_id "$id"
  [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 250 )) || lab_die "bad host count '$n' (1..250)"
  lab_parse_segments "$spec" "$n"
  hub=$(lab_hub "$id"); dir=$(lab_dir "$id")
  [[ -z "$(lab_namespaces "$id")" ]] || lab_die "lab $id already exists (lab.sh destroy $id)"
  # A failed create must not leave half a lab behind.
  trap 'lab_destroy '"$id"' >/dev/null 2>&1 || true' EXIT
  mkdir -p "$dir/logs"
  : >"$dir/hosts"
  echo "$spec" >"$dir/segments"

  ip netns add "$hub"
  ip -n "$hub" link set lo up
  for s in "${!LAB_SEGMENTS[@]}"; do
    # No STP delay and no multicast snooping: ND must flood to every port from the first packet.
    ip -n "$hub" link add "br$s" type bridge forward_delay 0 stp_state 0 mcast_snooping 0
    ip -n "$hub" link set "br$s" up
  done

  for (( i = 1; i <= n; i++ )); do
    ns=$(lab_ns "$id" "$i")
    ip netns add "$ns"
    # No DAD anywhere in the host (link-local included), so addresses are usable at once.
    ip netns exec "$ns" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'
    ip -n "$ns" link set lo up
    k=0
    for s in "${!LAB_SEGMENTS[@]}"; do
      [[ " ${LAB_SEGMENTS[$s]} " == *" $i "* ]] || continue
      port="${id}s${s}h${i}"
      a4="10.$((77 + s)).0.$i"; a6="fd$((77 + s)):$((77 + s))::$i"
      ip -n "$hub" link add "$port" type veth peer name "eth$k" netns "$ns"
      ip -n "$hub" link set "$port" master "br$s" up
      ip -n "$ns" addr add "$a4/24" dev "eth$k"
      ip -n "$ns" addr add "$a6/64" dev "eth$k" nodad
      ip -n "$ns" link set "eth$k" up
      echo "$i $ns eth$k $s $a4 $a6" >>"$dir/hosts"
      k=$((k + 1))
    done
    lab_start_keeper "$id" "$i"
  done
  lab_wait_keepers "$id" "$n"
  trap - EXIT
  echo "$id"
}

lab_destroy () {
  local id=$1 ns pids tries
  lab_check_id "$id"
  for ns in $(lab_namespaces "$id"); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -z "$pids" ]] || kill -9 $pids 2>/dev/null || true
  done
  # Wait for the kills to land: a namespace only really goes away with its last process, and a
  # caller checking "no process left" right after destroy must not race us.
  for ns in $(lab_namespaces "$id"); do
    for (( tries = 0; tries < 100; tries++ )); do
      [[ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ]] && break
      sleep 0.05
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  if [[ "${KEEP_LAB:-}" == 1 ]]; then
    [[ -d "$(lab_dir "$id")" ]] && echo "lab.sh: KEEP_LAB=1, kept $(lab_dir "$id")" >&2
  else
    rm -rf "$(lab_dir "$id")"
  fi
  return 0
}

lab_exec () {
  local id=$1 i=$2 pid
  shift 2
  lab_check_id "$id"; lab_check_index "$i"
  (( $# > 0 )) || lab_die "exec: no command"
  pid=$(lab_keeper "$id" "$i")
  exec nsenter --target "$pid" --mount --net --wd="$PWD" -- "$@"
}

# nft in host i's namespace (no mount ns needed for nft).
lab_nft () { local ns; ns=$(lab_ns "$1" "$2"); shift 2; ip netns exec "$ns" nft "$@"; }

# The fault table: drop sets for cuts, a flushable chain for loss. `add` is idempotent.
lab_ensure_table () {
  lab_nft "$1" "$2" -f - <<'EOF'
add table inet gridmesh_lab
add set inet gridmesh_lab cut4 { type ipv4_addr; }
add set inet gridmesh_lab cut6 { type ipv6_addr; }
add chain inet gridmesh_lab loss
add chain inet gridmesh_lab input { type filter hook input priority -10; policy accept; }
add chain inet gridmesh_lab output { type filter hook output priority -10; policy accept; }
flush chain inet gridmesh_lab input
flush chain inet gridmesh_lab output
add rule inet gridmesh_lab input ip saddr @cut4 drop
add rule inet gridmesh_lab input ip6 saddr @cut6 drop
add rule inet gridmesh_lab input jump loss
add rule inet gridmesh_lab output ip daddr @cut4 drop
add rule inet gridmesh_lab output ip6 daddr @cut6 drop
EOF
}

# Host j's underlay addresses (its eth* interfaces, both families), as "4 <addr>" / "6 <addr>" lines.
# Only the underlay: a cut must sever the path between two hosts, not the
# overlay addresses that relayed traffic still legitimately carries.
lab_host_addrs () {
  ip -n "$(lab_ns "$1" "$2")" -o addr show scope global \
    | awk '$2 !~ /^eth/ { next } $3 == "inet" { sub(/\/.*/, "", $4); print "4", $4 } $3 == "inet6" { sub(/\/.*/, "", $4); print "6", $4 }'
}

# Adds (op=add) or removes (op=delete) j's addresses in i's drop sets.
lab_set_cut () {
  local op=$1 id=$2 i=$3 j=$4 fam addr cmds=""
  lab_ensure_table "$id" "$i"
  while read -r fam addr; do
    cmds+="$op element inet gridmesh_lab cut$fam { $addr }"$'\n'
  done < <(lab_host_addrs "$id" "$j")
  # delete of an absent element fails; heal must be idempotent, so delete one at a time.
  if [[ "$op" == add ]]; then
    lab_nft "$id" "$i" -f - <<<"$cmds"
  else
    while IFS= read -r line; do [[ -z "$line" ]] || lab_nft "$id" "$i" "$line" 2>/dev/null || true; done <<<"$cmds"
  fi
}

lab_cut_or_heal () {
  local op=$1 id=$2 i=$3 j=$4
  lab_check_id "$id"; lab_check_index "$i"; lab_check_index "$j"
  [[ "$i" != "$j" ]] || lab_die "cut/heal needs two different hosts"
  [[ -e /run/netns/$(lab_ns "$id" "$i") && -e /run/netns/$(lab_ns "$id" "$j") ]] || lab_die "no host $i or $j in lab $id"
  lab_set_cut "$op" "$id" "$i" "$j"
  lab_set_cut "$op" "$id" "$j" "$i"
}

lab_loss () {
  local id=$1 i=$2 p=$3
  lab_check_id "$id"; lab_check_index "$i"
  [[ "$p" =~ ^[0-9]+$ ]] && (( p <= 100 )) || lab_die "bad loss percent '$p' (0..100)"
  lab_ensure_table "$id" "$i"
  lab_nft "$id" "$i" flush chain inet gridmesh_lab loss
  # Underlay interfaces only: loopback (local admin traffic) and the overlay are left alone.
  # numgen's range is 0..99, so 100% is a plain drop.
  if (( p == 100 )); then lab_nft "$id" "$i" add rule inet gridmesh_lab loss iifname '"eth*"' drop
  elif (( p > 0 )); then lab_nft "$id" "$i" add rule inet gridmesh_lab loss iifname '"eth*"' numgen random mod 100 '<' "$p" drop; fi
}

lab_list () {
  local id n
  for id in $(ip netns list 2>/dev/null | awk '{print $1}' | sed -nE 's/^(gm[0-9a-z]{1,6})-(hub|h[0-9]+)$/\1/p' | sort -u); do
    n=$(lab_namespaces "$id" | grep -c -- '-h[0-9]*$' || true)
    echo "$id hosts=$n dir=$(lab_dir "$id")"
  done
}

lab_usage () {
  sed -n '/^# Usage:/,/^# Sourcing/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

lab_main () {
  (( $# > 0 )) || lab_usage
  local cmd=$1; shift
  case "$cmd" in
    create)
      (( $# == 2 || $# == 4 )) || lab_usage
      if (( $# == 4 )); then [[ "$3" == --segments ]] || lab_usage; lab_create "$1" "$2" "$4"
      else lab_create "$1" "$2"; fi ;;
    destroy) (( $# == 1 )) || lab_usage; lab_destroy "$1" ;;
    exec) (( $# >= 3 )) || lab_usage; lab_exec "$@" ;;
    keeper) (( $# == 2 )) || lab_usage; lab_check_id "$1"; lab_check_index "$2"; lab_keeper "$1" "$2" ;;
    hosts)
      (( $# == 1 )) || lab_usage; lab_check_id "$1"
      local i ns iface seg a4 a6
      while read -r i ns iface seg a4 a6; do
        echo "$i $ns $(lab_keeper "$1" "$i") $iface $seg $a4 $a6"
      done <"$(lab_dir "$1")/hosts" ;;
    cut) (( $# == 3 )) || lab_usage; lab_cut_or_heal add "$@" ;;
    heal) (( $# == 3 )) || lab_usage; lab_cut_or_heal delete "$@" ;;
    loss) (( $# == 3 )) || lab_usage; lab_loss "$@" ;;
    list) lab_list ;;
    -h|--help|help) lab_usage ;;
    *) echo "lab.sh: unknown command '$cmd'" >&2; lab_usage ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then lab_main "$@"; fi
