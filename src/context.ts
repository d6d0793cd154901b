// The process's shared resources, built once from the configuration.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createDb, type Db } from './db/pool.ts';
import { createRedis, type RedisClient, type RedisSettings } from './redis/client.ts';
import { createKeys, type Keys } from './redis/keys.ts';
import { LineStore } from './redis/line-store.ts';
import { createLogger } from './log.ts';

export interface Context {
  config: Config;
  log: Logger;
  db: Db;
  redis: RedisClient;
  /** How to open more Redis connections (the subscribers of wakes and live streams). */
  redisSettings: RedisSettings;
  keys: Keys;
  /** Every line's Redis state, through typed operations. */
  lines: LineStore;
  /** Unique per process: owner id of processor leases. */
  instanceId: string;
  close(): Promise<void>;
}

export function createContext(config: Config, log: Logger = createLogger(config)): Context {
  const db = createDb(config.DATABASE_URL, log, { timeoutMs: config.DATABASE_TIMEOUT_MS });
  const redisSettings: RedisSettings = {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES ? config.REDIS_CLUSTER_NODES.split(',') : [],
    timeoutMs: config.REDIS_TIMEOUT_MS,
  };
  const redis = createRedis(redisSettings);
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'Redis connection error'));
  const keys = createKeys(config.REDIS_KEY_PREFIX);
  return {
    config,
    log,
    db,
    redis,
    redisSettings,
    keys,
    lines: new LineStore(redis, keys, config.REDIS_TIMEOUT_MS, config.REDIS_JOIN_WAIT_REPLICAS),
    instanceId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    async close() {
      redis.disconnect();
      await db.close();
    },
  };
}
