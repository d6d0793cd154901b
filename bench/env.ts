// One benchmark run's world: a fresh PostgreSQL database and a Redis key prefix of its own (as
// test/helpers/harness.ts does for tests), the servers under test as separate processes
// (support/processes.ts), and the clean-up of all of it. The URLs come from DATABASE_URL /
// REDIS_URL (or .env, or the defaults).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfig, type Config } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { createEvent, createTicketType } from '../src/db/catalog.ts';
import { dropDatabase, ensureDatabase, migrate } from '../src/db/migrate.ts';
import { startBoxoffice, type Role } from '../support/processes.ts';
import type { ProbeCounters } from './probe.ts';

const PROBE = fileURLToPath(new URL('./probe.ts', import.meta.url));

export interface ServerOptions {
  /** Names the log file (and the CPU profile). */
  name: string;
  role: Role;
  /** Preload bench/probe.ts to count SQL statements and Redis round trips. */
  probe?: boolean;
  env?: Record<string, string>;
  /** Another entry point than src/main.ts (the bare Fastify server). */
  script?: string;
}

export interface ServerProcess {
  /** http://127.0.0.1:<port>: the API, or a worker's health and metrics. */
  url: string;
  pid: number;
  counters(): Promise<ProbeCounters>;
  stop(): Promise<void>;
}

export interface BenchOptions {
  /** Where server logs and CPU profiles go. */
  outDir: string;
  /** Server LOG_LEVEL. */
  logLevel: string;
  batchSize: number;
  cpuProf: boolean;
  /** startSystem runs the API and the worker as two processes rather than one ROLE=all. */
  split: boolean;
  /** More environment for every server under test (`--env KEY=VALUE`), applied last. */
  serverEnv: Record<string, string>;
}

export interface BenchEnv {
  config: Config;
  ctx: Context;
  options: BenchOptions;
  ticketType(capacity: number, maxPerOrder?: number): Promise<number>;
  /** Puts `count` buyers of one ticket in line, straight through the join script; returns their tokens in line order. */
  fill(ticketTypeId: number, count: number, onProgress?: (done: number) => void): Promise<string[]>;
  startServer(o: ServerOptions): Promise<ServerProcess>;
  /** API and worker: one ROLE=all process, or two processes when options.split. */
  startSystem(name: string): Promise<{ url: string; stop(): Promise<void> }>;
  /** Redis's used_memory, bytes (whole instance: other users of a shared Redis add noise). */
  usedMemory(): Promise<number>;
  /** How many keys match a pattern (SCAN). */
  countKeys(pattern: string): Promise<number>;
  /** Exact bytes of one line's keys (MEMORY USAGE ... SAMPLES 0), in all and per key (queue, tokens, users...). */
  lineBytes(ticketTypeId: number): Promise<{ total: number; byKey: Record<string, number> }>;
  /** Frees one line's Redis keys once a scenario is done with them. */
  dropLine(ticketTypeId: number): Promise<void>;
  /**
   * Frees a finished ticket type: its line, its hold rows and their Redis copies. Otherwise its holds
   * would expire two minutes later, in the middle of another measurement, and the sweeper's work
   * would be counted there.
   */
  dropTicketType(ticketTypeId: number): Promise<void>;
  close(): Promise<void>;
}

export async function createBenchEnv(options: BenchOptions): Promise<BenchEnv> {
  const base = loadConfig();
  const db = new URL(base.DATABASE_URL);
  db.pathname = `/boxoffice_bench_${randomBytes(4).toString('hex')}`;
  const config = parseConfig({
    DATABASE_URL: db.toString(),
    REDIS_URL: base.REDIS_URL,
    REDIS_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'silent',
  });
  await ensureDatabase(config.DATABASE_URL);
  const ctx = createContext(config);
  await migrate(ctx.db);
  mkdirSync(options.outDir, { recursive: true });
  const servers = new Set<ServerProcess>();

  async function startServer(o: ServerOptions): Promise<ServerProcess> {
    const nodeArgs = o.probe ? ['--import', PROBE] : [];
    if (options.cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.outDir}`, `--cpu-prof-name=${o.name}.cpuprofile`);
    const proc = await startBoxoffice({
      role: o.role,
      logFile: path.join(options.outDir, `${o.name}.log`),
      nodeArgs,
      script: o.script,
      ipc: true,
      env: {
        DATABASE_URL: config.DATABASE_URL,
        REDIS_URL: config.REDIS_URL,
        REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
        LOG_LEVEL: options.logLevel,
        PROCESSOR_BATCH_SIZE: String(options.batchSize),
        // All load comes from one address, standing for thousands of buyers': the per-address
        // limits would turn it away. The per-user limit stays on, as in production.
        JOIN_LIMIT_PER_IP: '0',
        STATUS_LIMIT_PER_IP: '0',
        ACTION_LIMIT_PER_IP: '0',
        ...o.env,
        ...options.serverEnv,
      },
    });
    const { child } = proc;
    const server: ServerProcess = {
      url: proc.url,
      pid: proc.pid,
      counters() {
        return new Promise((resolve, reject) => {
          const onMessage = (m: { probe?: ProbeCounters }) => {
            if (!m.probe) return;
            child.off('message', onMessage);
            resolve(m.probe);
          };
          child.on('message', onMessage);
          if (!child.send('probe')) reject(new Error(`${o.name}: no IPC channel`));
        });
      },
      async stop() {
        servers.delete(server);
        await proc.stop(15_000);
      },
    };
    servers.add(server);
    return server;
  }

  async function countKeys(pattern: string): Promise<number> {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  }

  async function deleteMatching(pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5_000);
      cursor = next;
      if (keys.length) await ctx.redis.unlink(...keys);
    } while (cursor !== '0');
  }

  return {
    config,
    ctx,
    options,
    async ticketType(capacity, maxPerOrder = 4) {
      const event = await createEvent(ctx.db, { name: 'Benchmark', currency: config.DEFAULT_CURRENCY, starts_at: new Date().toISOString() });
      const tt = await createTicketType(ctx.db, event.id, { name: 'Bench', price: '10.00', capacity, max_per_order: maxPerOrder });
      return tt!.id;
    },
    async fill(ticketTypeId, count, onProgress) {
      const tokens: string[] = [];
      const CHUNK = 2_000; // in flight at once: auto-pipelined into a few round trips
      for (let i = 0; i < count; i += CHUNK) {
        const joins = Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) =>
          ctx.lines.join(ticketTypeId, { userId: `fill-${ticketTypeId}-${i + j}`, quantity: 1 }));
        for (const joined of await Promise.all(joins)) {
          if (joined.kind !== 'joined') throw new Error(`fill: join answered ${joined.kind}`);
          tokens.push(joined.token);
        }
        onProgress?.(tokens.length);
      }
      return tokens;
    },
    startServer,
    async startSystem(name) {
      if (!options.split) return startServer({ name, role: 'all' });
      const worker = await startServer({ name: `${name}-worker`, role: 'worker' });
      const api = await startServer({ name: `${name}-api`, role: 'api' });
      return { url: api.url, stop: () => Promise.all([api.stop(), worker.stop()]).then(() => undefined) };
    },
    async usedMemory() {
      const info = await ctx.redis.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)![1]);
    },
    countKeys,
    async lineBytes(ticketTypeId) {
      const byKey: Record<string, number> = {};
      let total = 0;
      const k = ctx.keys.line(ticketTypeId);
      for (const key of k.all()) {
        const bytes = Number((await ctx.redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
        // The buckets as one figure: their records and user entries.
        const name = key.includes(':b:') ? 'buckets' : key.slice(k.queue.length + 1) || 'queue';
        if (bytes) byKey[name] = (byKey[name] ?? 0) + bytes;
        total += bytes;
      }
      return { total, byKey };
    },
    async dropLine(ticketTypeId) {
      await ctx.redis.unlink(...ctx.keys.line(ticketTypeId).all());
    },
    async dropTicketType(ticketTypeId) {
      await ctx.redis.unlink(...ctx.keys.line(ticketTypeId).all());
      await ctx.db.query(
        `WITH gone AS (DELETE FROM reservations WHERE ticket_type_id = $1 RETURNING id)
         DELETE FROM ticket_bookings b USING gone WHERE b.reservation_id = gone.id`,
        [ticketTypeId],
      );
    },
    async close() {
      for (const server of [...servers]) await server.stop();
      await deleteMatching(`${config.REDIS_KEY_PREFIX}*`);
      await ctx.close();
      await dropDatabase(config.DATABASE_URL);
    },
  };
}
