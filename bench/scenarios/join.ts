// Scenario 2, join: POST /queue/join under closed-loop load (autocannon, distinct users), beside two
// ceilings under the same load, in turn, in the same run: a bare Fastify route answering {}, and the
// same route making one Redis round trip (a trivial script) first.
import { cpuSeconds } from '../lib/cpu.ts';
import { hammer, type HammerResult } from '../lib/hammer.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt, median, round } from '../lib/stats.ts';

export interface JoinOptions {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  runs: number;
}

const TARGET_RATIO = 0.65;

type Target = 'join' | 'bare' | 'redis';
type Measured = HammerResult & { cpuUsPerRequest: number };

const LABELS: Record<Target, string> = { join: 'POST /queue/join', bare: 'bare route', redis: 'bare route + one Redis round trip' };

export const join = defineScenario({
  name: 'join',
  title: '2 join',
  full: { connections: 100, seconds: 10, warmupSeconds: 3, runs: 3 },
  smoke: { connections: 10, seconds: 1, warmupSeconds: 0, runs: 1 },
  async run(env, o: JoinOptions, progress) {
    // The API alone: admission is a worker's job, which would only take CPU from the route here.
    const api = await env.startServer({ name: 'join-api', role: 'api' });
    const bare = await env.startServer({ name: 'join-bare', role: 'api', script: 'bench/bare-server.ts' });
    const redis = await env.startServer({ name: 'join-bare-redis', role: 'api', script: 'bench/bare-redis-server.ts' });
    const servers = { join: api, bare, redis };
    const runs: Record<Target, Measured>[] = [];
    let user = 0;
    try {
      for (let i = 1; i <= o.runs; i++) {
        const id = await env.ticketType(1_000_000, 1);
        const load = (url: string, seconds: number, label: string) =>
          hammer({
            url, method: 'POST', connections: o.connections, seconds, label, progress,
            next: () => ({ path: '/queue/join', body: `{"user_id":"u${user++}","ticket_type_id":${id}}` }),
          });
        // The server's CPU time per request: what a request costs, whatever else the machine runs.
        const measure = async (target: Target): Promise<Measured> => {
          const { url, pid } = servers[target];
          if (o.warmupSeconds) await load(url, o.warmupSeconds, `join ${i}/${o.runs}: warming up ${LABELS[target]}`);
          const cpuBefore = cpuSeconds(pid);
          const result = await load(url, o.seconds, `join ${i}/${o.runs}: ${LABELS[target]}`);
          return { ...result, cpuUsPerRequest: round(((cpuSeconds(pid) - cpuBefore) * 1e6) / result.total, 1) };
        };
        // Rotate which goes first, so that a drift in the machine's load favours none.
        const order = (['join', 'bare', 'redis'] as const).map((_, j, all) => all[(j + i - 1) % all.length]!);
        const run = {} as Record<Target, Measured>;
        for (const target of order) run[target] = await measure(target);
        runs.push(run);
        await env.dropLine(id);
      }
    } finally {
      await Promise.all([api.stop(), bare.stop(), redis.stop()]);
    }
    const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
    const ratio = m((r) => r.join.rps / r.bare.rps);
    const ratioRedis = m((r) => r.join.rps / r.redis.rps);
    const failed = runs.reduce((sum, r) => sum + r.join.failed, 0);
    return {
      rows: [
        {
          measure: `req/s, ${o.connections} connections, ${o.seconds} s (median of ${runs.length})`,
          value: fmt(m((r) => r.join.rps)),
          beside: `bare Fastify {} ${fmt(m((r) => r.bare.rps))}`,
          ratio: `${round(ratio, 2)}x bare`,
          target: `>= ${TARGET_RATIO}x bare`,
          met: ratio >= TARGET_RATIO && failed === 0,
        },
        {
          measure: 'the same, beside the bare route making one Redis round trip (EVALSHA of return 1)',
          value: fmt(m((r) => r.join.rps)),
          beside: `bare + one Redis round trip ${fmt(m((r) => r.redis.rps))}`,
          ratio: `${round(ratioRedis, 2)}x bare + Redis`,
        },
        {
          measure: 'latency p50 / p99 (ms)',
          value: `${fmt(m((r) => r.join.p50))} / ${fmt(m((r) => r.join.p99))}`,
          beside: `bare ${fmt(m((r) => r.bare.p50))} / ${fmt(m((r) => r.bare.p99))}; bare + Redis ${fmt(m((r) => r.redis.p50))} / ${fmt(m((r) => r.redis.p99))}`,
        },
        {
          measure: 'server CPU per request (µs, /proc user + system)',
          value: fmt(m((r) => r.join.cpuUsPerRequest), 1),
          beside: `bare ${fmt(m((r) => r.bare.cpuUsPerRequest), 1)}; bare + Redis ${fmt(m((r) => r.redis.cpuUsPerRequest), 1)}`,
          ratio: `${round(m((r) => r.bare.cpuUsPerRequest / r.join.cpuUsPerRequest), 2)}x bare`,
        },
        { measure: 'joins answered other than 2xx', value: fmt(failed) },
      ],
      data: { options: o, runs, median: { ratio, ratioRedis } },
    };
  },
});
