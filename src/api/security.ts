// Abuse limits and security headers. Rate limit counters live in Redis, so every API process
// counts against the same limit; a join is counted once per client address (before its body is
// parsed, so a flood costs little) and, when it finds the user already in line or returning, once
// per user id (a first join cannot be repeated without being counted, and costs one round trip).
import helmet from '@fastify/helmet';
import rateLimit, { normalizeIP, type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import type { RedisClient } from '../redis/client.ts';
import { countHit } from '../redis/rate-limit.ts';
import { rateLimited, unsupportedEncoding } from './errors.ts';

/** Fastify's trustProxy from TRUST_PROXY: off, on (every peer is a proxy), or the proxies' addresses. */
export function trustProxy(config: Config): FastifyServerOptions['trustProxy'] {
  const value = config.TRUST_PROXY.trim();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return value.split(',').map((a) => a.trim()).filter(Boolean);
}

/**
 * The plugin's store over the application's Redis client (its prefix, its reconnection policy).
 * Every limiter builds its own full key, so a child store is the same store.
 */
function redisStore(redis: RedisClient, namespace: string) {
  return class implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number) {
      countHit(redis, namespace + key, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
        (err: Error) => callback(err),
      );
    }

    child() {
      return this;
    }
  };
}

export async function registerSecurity(app: FastifyInstance, ctx: Context): Promise<void> {
  // The defaults of helmet on the pages and their assets: a same-origin Content-Security-Policy
  // (pages load their scripts and styles from this server), no framing, no MIME sniffing, no
  // referrer leaving the site. Helmet rebuilds its headers on every reply, which cost the JSON
  // routes a third of their throughput (BENCHMARKS.md), and a JSON answer is neither framed nor
  // run: those get only nosniff.
  await app.register(helmet, { global: false });
  app.addHook('onSend', async (_req, reply) => {
    if (String(reply.getHeader('content-type')).startsWith('application/json')) {
      reply.header('x-content-type-options', 'nosniff');
    } else {
      await reply.helmet();
    }
  });
  // Bodies are parsed as sent: one that claims a compression would be read differently here than
  // by a proxy or filter that honours the header.
  app.addHook('onRequest', async (req) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw unsupportedEncoding();
    }
  });
  await app.register(rateLimit, { global: false, store: redisStore(ctx.redis, ctx.keys.rateLimit) });
}

type Check = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * A fixed-window limit counted in Redis (every API process counts against the same limit), keyed
 * by `keyOf`. Over it: 429 with Retry-After and the JSON error. A limit of 0 is off (undefined).
 */
function limiter(app: FastifyInstance, config: Config, max: number, keyOf: (req: FastifyRequest) => string, message: string): Check | undefined {
  if (max === 0) return undefined;
  const check = app.createRateLimit({ max, timeWindow: config.RATE_LIMIT_WINDOW_SECONDS * 1000, keyGenerator: keyOf });
  return async (req, reply) => {
    const limit = await check(req);
    if (limit.isAllowed) return;
    reply.header('x-ratelimit-limit', limit.max).header('x-ratelimit-remaining', limit.remaining);
    if (!limit.isExceeded) return;
    const seconds = Math.max(1, limit.ttlInSeconds);
    reply.header('retry-after', seconds);
    throw rateLimited(message, seconds);
  };
}

/** A limit per client address on the requests of one kind (`name`), for an onRequest hook. */
export function addressLimit(app: FastifyInstance, config: Config, name: string, max: number, message: string): Check | undefined {
  return limiter(app, config, max, (req) => `${name}:ip:${normalizeIP(req.ip)}`, message);
}

/**
 * The two limits of POST /queue/join: per client address (an onRequest hook, before the body is
 * parsed) and per user id (once the join found the user in line or returning).
 */
export function joinLimits(app: FastifyInstance, config: Config): { perAddress?: Check; perUser?: Check } {
  return {
    perAddress: addressLimit(app, config, 'join', config.JOIN_LIMIT_PER_IP, 'Too many join requests from this network address.'),
    perUser: limiter(app, config, config.JOIN_LIMIT_PER_USER, (req) => `join:user:${(req.body as { user_id: string }).user_id}`,
      'Too many join requests for this user.'),
  };
}
