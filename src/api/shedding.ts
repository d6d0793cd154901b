// Bounds the requests one API process works on at once. Past MAX_CONCURRENT_REQUESTS a request is
// refused at once (503 with Retry-After) instead of joining a pile that grows without bound, for
// example behind a hung PostgreSQL or Redis, where each request waits out the timeout. Live
// streams are long by design and counted apart (routes/stream.ts).
import type { FastifyInstance } from 'fastify';
import { overloaded } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A long-lived route (the live stream) that is not counted as a request in flight. */
    longLived?: boolean;
  }
}

export function registerConcurrencyLimit(app: FastifyInstance, max: number): void {
  let inFlight = 0;
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.config.longLived) return;
    if (inFlight >= max) throw overloaded('This server is answering as many requests as it can');
    inFlight++;
    // 'close' comes once for every response, answered or abandoned by the client.
    reply.raw.once('close', () => inFlight--);
  });
}
