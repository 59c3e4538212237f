// A TCP proxy in front of PostgreSQL that a script cuts and restores, like a network or database outage.
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface OutageProxy {
  /** Listens (again) on the same port and forwards new connections. */
  start(): Promise<void>
  /** Drops every open connection and stops listening: new connections are refused. */
  cut(): Promise<void>
  /** The database URL through the proxy. */
  url(): string
  /** Connections accepted so far. */
  connections(): number
}

export function outageProxy (target: URL): OutageProxy {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  let accepted = 0
  return {
    start: () => new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        accepted++
        const upstream = connect(Number(target.port || 5432), target.hostname)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => s.destroy())
        }
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
        client.pipe(upstream).pipe(client)
      })
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => { port = (server!.address() as AddressInfo).port; resolve() })
    }),
    cut: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      if (server === undefined) { resolve(); return }
      server.close(() => resolve())
      server = undefined
    }),
    url: () => {
      const u = new URL(target)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    connections: () => accepted
  }
}
