// Live timeline events: one LISTEN per replica fans committed events out to this replica's open streams.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Listener } from '../db/listen.js'

export const TIMELINE_CHANNEL = 'timeline_events'

/** Called with the new event's id, or null after a reconnect when events may have been missed. */
export type Subscriber = (eventId: number | null) => void

export interface TimelineHub {
  subscribe(applicationId: string, subscriber: Subscriber): () => void
  /** Ends every open stream; called before the server closes. */
  onShutdown(handler: () => void): () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    timelineHub: TimelineHub
  }
}

export default fp(async function timelineHub (app: FastifyInstance) {
  const subscribers = new Map<string, Set<Subscriber>>()
  const shutdownHandlers = new Set<() => void>()
  const notify = (applicationId: string, eventId: number | null) => {
    for (const subscriber of subscribers.get(applicationId) ?? []) subscriber(eventId)
  }

  const listener: Listener = await app.database.listen(TIMELINE_CHANNEL, {
    onMessage (payload) {
      try {
        const { applicationId, id } = JSON.parse(payload) as { applicationId: string; id: number }
        notify(applicationId, Number(id))
      } catch {
        app.log.warn('ignored a malformed timeline notification')
      }
    },
    onReconnect () {
      for (const applicationId of subscribers.keys()) notify(applicationId, null)
    }
  })

  app.decorate('timelineHub', {
    subscribe (applicationId, subscriber) {
      let set = subscribers.get(applicationId)
      if (set === undefined) subscribers.set(applicationId, set = new Set())
      set.add(subscriber)
      return () => {
        set.delete(subscriber)
        if (set.size === 0) subscribers.delete(applicationId)
      }
    },
    onShutdown (handler) {
      shutdownHandlers.add(handler)
      return () => shutdownHandlers.delete(handler)
    }
  } satisfies TimelineHub)

  // Streams never end by themselves; end them first so the server can close within its grace period.
  app.addHook('preClose', async () => {
    for (const handler of shutdownHandlers) handler()
  })
  app.addHook('onClose', async () => { await listener.close() })
}, { name: 'timeline-hub', dependencies: ['db'] })
