// Scenario 8, admission across many lines (issue 12): 30 lines with a backlog each, admitted by 1,
// 2 and 3 worker processes, on the benchmark's one Redis and on a private 3-master Redis Cluster
// (support/redis-cluster.ts), side by side in one run. Per configuration: holds/s from the lines'
// release to the last hold, the Redis commands each node ran meanwhile (INFO stats
// total_commands_processed deltas), and the SQL statements each worker sent (bench/probe.ts): that
// the work spreads over workers and nodes, with no process or node serial for lines it does not own.
import { parseConfig } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';
import { Redis } from 'ioredis';
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.ts';
import { waitFor } from '../../support/wait.ts';
import type { BenchEnv, ServerProcess } from '../env.ts';
import type { Progress } from '../lib/progress.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt } from '../lib/stats.ts';

export interface AdmissionOptions {
  lines: number;
  /** Buyers in each line's backlog (one ticket each; capacity for all of them). */
  perLine: number;
  workers: number[];
}

interface AdmissionRun {
  redis: 'one Redis' | '3-master cluster';
  workers: number;
  holds: number;
  seconds: number;
  holdsPerSecond: number;
  /** Commands each Redis node ran during the admission, by port (the whole instance: on the shared Redis, other clients count too). */
  commandsByNode: Record<string, number>;
  /** SQL statements each worker sent during the admission, in start order. */
  sqlByWorker: number[];
}

export const admission = defineScenario({
  name: 'admission',
  title: '8 admission',
  full: { lines: 30, perLine: 2_000, workers: [1, 2, 3] },
  smoke: { lines: 6, perLine: 50, workers: [1, 2] },
  async run(env, o: AdmissionOptions, progress) {
    const runs: AdmissionRun[] = [];
    const single = new URL(env.config.REDIS_URL);
    for (const workers of o.workers) {
      runs.push(await admitOnce(env, env.ctx, [`${single.hostname}:${single.port || 6379}`], {}, 'one Redis', workers, o, progress));
    }
    const cluster: RedisCluster = await startRedisCluster({ masters: 3 });
    process.once('exit', () => cluster.closeNow());
    const ctx = createContext(parseConfig({ ...stringConfig(env), REDIS_CLUSTER_NODES: cluster.seeds }));
    try {
      const nodes = (await cluster.masters()).map((port) => `127.0.0.1:${port}`);
      for (const workers of o.workers) {
        runs.push(await admitOnce(env, ctx, nodes, { REDIS_CLUSTER_NODES: cluster.seeds }, '3-master cluster', workers, o, progress));
      }
    } finally {
      await ctx.close();
      await cluster.close();
    }
    return {
      rows: runs.map((r) => ({
        measure: `holds/s, ${o.lines} lines x ${fmt(o.perLine)}, ${r.workers} worker${r.workers > 1 ? 's' : ''}, ${r.redis}`,
        value: fmt(r.holdsPerSecond),
        beside: `Redis commands per node ${Object.values(r.commandsByNode).map((n) => fmt(n)).join(' / ')}; SQL statements per worker ${r.sqlByWorker.map((n) => fmt(n)).join(' / ')}`,
      })),
      data: { options: o, runs },
    };
  },
});

/** The benchmark's configuration as environment strings, to build a context on another Redis. */
function stringConfig(env: BenchEnv): Record<string, string> {
  return { DATABASE_URL: env.config.DATABASE_URL, REDIS_URL: env.config.REDIS_URL, REDIS_KEY_PREFIX: env.config.REDIS_KEY_PREFIX, LOG_LEVEL: 'silent' };
}

async function commandsProcessed(nodes: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const node of nodes) {
    const [host, port] = node.split(':');
    const redis = new Redis({ host, port: Number(port), lazyConnect: true });
    try {
      await redis.connect();
      counts[port!] = Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))![1]);
    } finally {
      redis.disconnect();
    }
  }
  return counts;
}

async function admitOnce(env: BenchEnv, ctx: Context, nodes: string[], serverEnv: Record<string, string>, redis: AdmissionRun['redis'],
  workers: number, o: AdmissionOptions, progress: Progress): Promise<AdmissionRun> {
  const label = `admission, ${redis}, ${workers} worker${workers > 1 ? 's' : ''}`;
  const ids: number[] = [];
  for (let i = 0; i < o.lines; i++) {
    const id = await env.ticketType(o.perLine, 1);
    // Parked until every line is full and every worker runs: the clock starts with all of them.
    await ctx.lines.pause(id);
    ids.push(id);
  }
  const CHUNK = 2_000;
  const total = o.lines * o.perLine;
  for (let done = 0; done < total; done += CHUNK) {
    const joins = Array.from({ length: Math.min(CHUNK, total - done) }, (_, j) => {
      const n = done + j;
      return ctx.lines.join(ids[n % o.lines]!, { userId: `adm-${n}`, quantity: 1 });
    });
    for (const joined of await Promise.all(joins)) if (joined.kind !== 'joined') throw new Error(`${label}: a join answered ${joined.kind}`);
    progress.update(`${label}: filling ${fmt(done + joins.length)}/${fmt(total)}`);
  }
  const servers: ServerProcess[] = await Promise.all(Array.from({ length: workers }, (_, i) =>
    env.startServer({ name: `admission-${redis === 'one Redis' ? 'single' : 'cluster'}-${workers}-worker-${i + 1}`, role: 'worker', probe: true, env: serverEnv })));
  try {
    const sqlBefore = await Promise.all(servers.map((s) => s.counters()));
    const commandsBefore = await commandsProcessed(nodes);
    const started = performance.now();
    await Promise.all(ids.map((id) => ctx.lines.resume(id)));
    let held = 0;
    await waitFor(`${label}: every buyer held`, async () => {
      const { rows } = await env.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservations WHERE ticket_type_id = ANY($1::bigint[])', [ids]);
      held = rows[0]!.n;
      progress.update(`${label}: ${fmt(held)}/${fmt(total)} held`);
      return held === total;
    }, { timeoutMs: 30_000, intervalMs: 10, progress: () => held });
    const seconds = (performance.now() - started) / 1000;
    const commandsAfter = await commandsProcessed(nodes);
    const sqlAfter = await Promise.all(servers.map((s) => s.counters()));
    return {
      redis, workers, holds: total, seconds, holdsPerSecond: total / seconds,
      commandsByNode: Object.fromEntries(Object.entries(commandsAfter).map(([port, n]) => [port, n - commandsBefore[port]!])),
      sqlByWorker: sqlAfter.map((c, i) => c.sql - sqlBefore[i]!.sql),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const id of ids) {
      // A line's keys share its slot: one command frees them on a cluster too.
      if (ctx !== env.ctx) await ctx.redis.unlink(...ctx.keys.line(id).all());
      await env.dropTicketType(id);
    }
  }
}
