// Load shedding. Past a bound a request is refused at once (503 `overloaded` with Retry-After)
// instead of joining a pile that grows without bound: behind a hung PostgreSQL or Redis, where each
// request waits out the timeout, or in a rush of more joins than the process can answer, where a
// queue in front of the event loop would make every buyer wait seconds. Three bounds, cheapest
// first: requests in flight (MAX_CONCURRENT_REQUESTS), joins in flight (MAX_CONCURRENT_JOINS), and,
// when set, the event loop's delay (MAX_EVENT_LOOP_DELAY_MS, @fastify/under-pressure). Live streams
// are long by design and counted apart (routes/stream.ts).
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { overloaded } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A long-lived route (the live stream) that is not counted as a request in flight. */
    longLived?: boolean;
  }
}

type OnRequest = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** An onRequest hook that lets at most `max` of the requests it sees be in flight, refusing the rest. */
function inFlightLimit(max: number, refusal: Error): OnRequest {
  let inFlight = 0;
  return async (_req, reply) => {
    if (inFlight >= max) throw refusal;
    inFlight++;
    // 'close' comes once for every response, answered or abandoned by the client.
    reply.raw.once('close', () => inFlight--);
  };
}

export function registerConcurrencyLimit(app: FastifyInstance, config: Config): void {
  const limit = inFlightLimit(config.MAX_CONCURRENT_REQUESTS,
    overloaded('This server is answering as many requests as it can', config.OVERLOAD_RETRY_AFTER_SECONDS));
  app.addHook('onRequest', async (req, reply) => {
    if (!req.routeOptions.config.longLived) await limit(req, reply);
  });
}

/**
 * The event loop's delay, as @fastify/under-pressure measures it: the mean of a histogram that
 * records every 10 ms, read and reset every EVENT_LOOP_SAMPLE_MS. The bound that also sees work
 * other than requests (a worker's batches in a ROLE=all process). Off at 0.
 */
// A read of a window with no record in it counts as infinite delay (the plugin takes NaN for a
// stuck loop): at 10 ms, as often as not, and every request was refused. Five records a window.
const EVENT_LOOP_SAMPLE_MS = 50;

export async function registerPressure(app: FastifyInstance, config: Config): Promise<void> {
  if (!config.MAX_EVENT_LOOP_DELAY_MS) return;
  const refusal = overloaded('This server is too busy to answer now', config.OVERLOAD_RETRY_AFTER_SECONDS);
  await app.register(underPressure, {
    maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    sampleInterval: EVENT_LOOP_SAMPLE_MS,
    pressureHandler: (req: FastifyRequest) => (req.routeOptions.config.longLived ? undefined : Promise.reject(refusal)),
  });
}

/**
 * An onRequest hook for POST /queue/join: at most `max` joins in flight in this process. It runs
 * before the body is read and before the rate limit's round trip, so that a refusal costs a few
 * microseconds; the refused buyer changed nothing and is told when to come back.
 */
export function joinShedding(config: Config): OnRequest {
  return inFlightLimit(config.MAX_CONCURRENT_JOINS,
    overloaded('More buyers are joining than this server can answer at once', config.OVERLOAD_RETRY_AFTER_SECONDS));
}
