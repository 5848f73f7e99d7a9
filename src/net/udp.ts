/**
 * The prober's datagram socket: the port (ProbeSocket, ProbeSocketFactory)
 * and its real adapter, a node:dgram `udp6` socket.
 */
import { createSocket } from 'node:dgram'

/** Where a datagram came from. */
export interface ProbeRemote { readonly address: string, readonly port: number }

/** The socket operations the prober needs. `bind` rejects with the OS error (with `code`). */
export interface ProbeSocket {
  bind (port: number, address: string): Promise<void>
  send (buf: Uint8Array, port: number, address: string): void
  close (): void
}

/** Creates one socket delivering datagrams to `onMessage`. A new socket is created for every bind attempt. */
export type ProbeSocketFactory = (onMessage: (buf: Uint8Array, from: ProbeRemote) => void, onError: (err: Error) => void) => ProbeSocket

/** dgramSocketFactory is the real udp6 socket. */
export const dgramSocketFactory: ProbeSocketFactory = (onMessage, onError) => {
  const sock = createSocket({ type: 'udp6', ipv6Only: true })
  sock.on('message', (buf, rinfo) => { onMessage(buf, { address: rinfo.address, port: rinfo.port }) })
  return {
    bind: async (port, address) => await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => { reject(err) }
      sock.once('error', fail)
      sock.bind(port, address, () => {
        sock.off('error', fail)
        sock.on('error', onError)
        resolve()
      })
    }),
    send: (buf, port, address) => { sock.send(buf, port, address, err => { if (err != null) onError(err) }) },
    close: () => { try { sock.close() } catch { /* already closed */ } }
  }
}
