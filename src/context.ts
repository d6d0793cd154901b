// The process's shared resources, built once from the configuration.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';
import { createDb, type Db } from './db/pool.ts';
import { createRedis, type RedisClient } from './redis/client.ts';
import { createKeys, type Keys } from './redis/keys.ts';

export interface Context {
  config: Config;
  log: Logger;
  db: Db;
  redis: RedisClient;
  keys: Keys;
  /** Unique per process: owner id of processor leases. */
  instanceId: string;
  close(): Promise<void>;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer, less the query string: the buyer's secret token travels in it
 * (GET /reservation/status?token=, the live stream), and a URL-encoded name would slip past any
 * pattern matching `token=`.
 */
function serializeRequest(req: LoggedRequest) {
  const [path, query] = (req.url ?? '').split('?', 2);
  return {
    method: req.method,
    url: query === undefined ? path : `${path}?[redacted]`,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** `destination` defaults to stdout; tests pass a stream to read what was logged. */
export function createLogger(config: Config, destination?: DestinationStream): Logger {
  const options = {
    level: config.LOG_LEVEL,
    serializers: { req: serializeRequest },
    // err.command.args: ioredis puts a failed command's arguments (tokens) on the error;
    // err.detail: PostgreSQL names the offending key's value there.
    redact: ['req.headers.authorization', '*.token', 'token', 'err.command.args', 'err.detail'],
  };
  return destination ? pino(options, destination) : pino(options);
}

export function createContext(config: Config, log: Logger = createLogger(config)): Context {
  const db = createDb(config.DATABASE_URL, log);
  const redis = createRedis(config.REDIS_URL);
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'Redis connection error'));
  return {
    config,
    log,
    db,
    redis,
    keys: createKeys(config.REDIS_KEY_PREFIX),
    instanceId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    async close() {
      redis.disconnect();
      await db.close();
    },
  };
}
