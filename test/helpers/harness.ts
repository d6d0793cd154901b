// Each test file gets its own PostgreSQL database and Redis key prefix, on the real services
// named by DATABASE_URL / REDIS_URL (npm test brings them up when they are not running). With
// BOXOFFICE_TEST_REDIS=cluster (set by the files of test/integration/cluster/, which run other test
// files again), the file's Redis is a private 3-master Redis Cluster instead.
import { randomBytes } from 'node:crypto';
import { parseConfig, type Config } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';
import { dropDatabase, ensureDatabase, migrate } from '../../src/db/migrate.ts';
import { buildApp } from '../../src/api/app.ts';
import { startEngine, type Engine, type EngineHooks } from '../../src/engine/index.ts';
import { createEvent, createTicketType } from '../../src/db/catalog.ts';
import { Sale } from '../../src/sale/sale.ts';
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.ts';

export const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Harness {
  config: Config;
  ctx: Context;
  /** The sale service on `ctx`, shared with app(). */
  sale: Sale;
  /** Another context on the same database and key prefix: a second process, as far as Redis and PostgreSQL can tell. */
  peer(): Context;
  app(): ReturnType<typeof buildApp>;
  engine(hooks?: EngineHooks, ctx?: Context): Promise<Engine>;
  ticketType(capacity: number, maxPerOrder?: number): Promise<number>;
  close(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/boxoffice_test_${randomBytes(5).toString('hex')}`;
  return url.toString();
}

let cluster: Promise<RedisCluster> | undefined;

/** This test file's Redis Cluster, started on first use and gone with the process. */
function fileCluster(): Promise<RedisCluster> {
  cluster ??= startRedisCluster().then((c) => {
    process.once('exit', () => c.closeNow());
    return c;
  });
  return cluster;
}

export async function createHarness(overrides: Record<string, string> = {}): Promise<Harness> {
  const onCluster = process.env.BOXOFFICE_TEST_REDIS === 'cluster';
  const config = parseConfig({
    REDIS_URL: process.env.REDIS_URL,
    REDIS_CLUSTER_NODES: onCluster ? (await fileCluster()).seeds : '',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_KEY_PREFIX: `test:${randomBytes(5).toString('hex')}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_TOKEN: 'test-admin-token',
    // Tests poll statuses and act far faster than a buyer; the limits have tests of their own.
    STATUS_LIMIT_PER_IP: '0',
    ACTION_LIMIT_PER_IP: '0',
    // Tests send hundreds of joins at once to race them; shedding has tests of its own (overload).
    MAX_CONCURRENT_JOINS: '100000',
    ...overrides,
  });
  await ensureDatabase(config.DATABASE_URL);
  const ctx = createContext(config);
  await migrate(ctx.db);
  const sale = await Sale.open(ctx);
  const contexts = [ctx];
  const closers: (() => Promise<unknown>)[] = [];
  return {
    config,
    ctx,
    sale,
    peer() {
      const peer = createContext(config, ctx.log);
      contexts.push(peer);
      return peer;
    },
    async app() {
      const app = await buildApp(ctx, { logger: false, sale });
      closers.push(() => app.close());
      return app;
    },
    async engine(hooks, on = ctx) {
      const engine = await startEngine(on, hooks);
      closers.push(() => engine.stop());
      return engine;
    },
    async ticketType(capacity, maxPerOrder = 4) {
      const event = await createEvent(ctx.db, { name: 'Test event', currency: config.DEFAULT_CURRENCY, starts_at: new Date().toISOString() });
      const tt = await createTicketType(ctx.db, event.id, { name: 'Test', price: '10.00', capacity, max_per_order: maxPerOrder });
      return tt!.id;
    },
    async close() {
      for (const close of closers.reverse()) await close();
      // A private cluster (the file's, or one the file started itself) goes with the process; the
      // shared Redis is cleaned of this file's keys.
      if (!config.REDIS_CLUSTER_NODES) {
        const keys = await ctx.redis.keys(`${config.REDIS_KEY_PREFIX}*`);
        if (keys.length) await ctx.redis.del(...keys);
      }
      for (const c of contexts) await c.close();
      await dropDatabase(config.DATABASE_URL);
    },
  };
}
