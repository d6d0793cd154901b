// Scenario 2, join: POST /queue/join under closed-loop load (autocannon, distinct users), beside a
// bare Fastify route answering {} under the same load, alternately, in the same run.
import { hammer, type HammerResult } from '../lib/hammer.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt, median, round } from '../lib/stats.ts';

export interface JoinOptions {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  runs: number;
}

const TARGET_RATIO = 0.5;

export const join = defineScenario({
  name: 'join',
  title: '2 join',
  full: { connections: 100, seconds: 10, warmupSeconds: 3, runs: 3 },
  smoke: { connections: 10, seconds: 1, warmupSeconds: 0, runs: 1 },
  async run(env, o: JoinOptions, progress) {
    // The API alone: admission is a worker's job, which would only take CPU from the route here.
    const api = await env.startServer({ name: 'join-api', role: 'api' });
    const bare = await env.startServer({ name: 'join-bare', role: 'api', script: 'bench/bare-server.ts' });
    const runs: { join: HammerResult; bare: HammerResult }[] = [];
    let user = 0;
    try {
      for (let i = 1; i <= o.runs; i++) {
        const id = await env.ticketType(1_000_000, 1);
        const load = (url: string, seconds: number, label: string) =>
          hammer({
            url, method: 'POST', connections: o.connections, seconds, label, progress,
            next: () => ({ path: '/queue/join', body: `{"user_id":"u${user++}","ticket_type_id":${id}}` }),
          });
        const measure = async (url: string, what: string) => {
          if (o.warmupSeconds) await load(url, o.warmupSeconds, `join ${i}/${o.runs}: warming up ${what}`);
          return load(url, o.seconds, `join ${i}/${o.runs}: ${what}`);
        };
        // Alternate which goes first, so that a drift in the machine's load favours neither.
        const first = i % 2 ? 'join' : 'bare';
        const a = await measure(first === 'join' ? api.url : bare.url, first === 'join' ? 'POST /queue/join' : 'bare route');
        const b = await measure(first === 'join' ? bare.url : api.url, first === 'join' ? 'bare route' : 'POST /queue/join');
        runs.push(first === 'join' ? { join: a, bare: b } : { join: b, bare: a });
        await env.dropLine(id);
      }
    } finally {
      await Promise.all([api.stop(), bare.stop()]);
    }
    const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
    const ratio = m((r) => r.join.rps / r.bare.rps);
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
          measure: 'latency p50 / p99 (ms)',
          value: `${fmt(m((r) => r.join.p50))} / ${fmt(m((r) => r.join.p99))}`,
          beside: `bare ${fmt(m((r) => r.bare.p50))} / ${fmt(m((r) => r.bare.p99))}`,
        },
        { measure: 'joins answered other than 2xx', value: fmt(failed) },
      ],
      data: { options: o, runs, median: { ratio } },
    };
  },
});
