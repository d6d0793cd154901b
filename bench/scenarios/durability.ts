// Scenario 7, durability: what Redis's persistence costs a join (issue 10). The join route under
// the join scenario's load, with the API on a private redis-server of each kind in turn: no
// persistence, AOF with `appendfsync everysec`, AOF with `appendfsync always` (README: what an
// acknowledged join survives under each).
import { startRedisServer } from '../../support/redis-server.ts';
import { hammer, type HammerResult } from '../lib/hammer.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt, median, round } from '../lib/stats.ts';

export interface DurabilityOptions {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  runs: number;
}

const MODES = [
  { name: 'no persistence', appendonly: false },
  { name: 'appendfsync everysec', appendonly: true, appendfsync: 'everysec' },
  { name: 'appendfsync always', appendonly: true, appendfsync: 'always' },
] as const;

export const durability = defineScenario({
  name: 'durability',
  title: '7 durability',
  full: { connections: 100, seconds: 10, warmupSeconds: 2, runs: 3 },
  smoke: { connections: 10, seconds: 1, warmupSeconds: 0, runs: 1 },
  async run(env, o: DurabilityOptions, progress) {
    const runs = new Map<string, HammerResult[]>(MODES.map((m) => [m.name, []]));
    let user = 0;
    for (let i = 1; i <= o.runs; i++) {
      // Each run starts from another mode, so that a drift in the machine's load favours none.
      for (let j = 0; j < MODES.length; j++) {
        const mode = MODES[(i + j) % MODES.length]!;
        const redis = await startRedisServer(mode);
        const api = await env.startServer({ name: 'durability-api', role: 'api', env: { REDIS_URL: redis.url } });
        try {
          const id = await env.ticketType(1_000_000, 1);
          const load = (seconds: number, label: string) => hammer({
            url: api.url, method: 'POST', connections: o.connections, seconds, label, progress,
            next: () => ({ path: '/queue/join', body: `{"user_id":"u${user++}","ticket_type_id":${id}}` }),
          });
          if (o.warmupSeconds) await load(o.warmupSeconds, `durability ${i}/${o.runs}: warming up, ${mode.name}`);
          runs.get(mode.name)!.push(await load(o.seconds, `durability ${i}/${o.runs}: ${mode.name}`));
        } finally {
          await api.stop();
          await redis.close();
        }
      }
    }
    const rate = (name: string) => median(runs.get(name)!.map((r) => r.rps));
    const p99 = (name: string) => median(runs.get(name)!.map((r) => r.p99));
    const none = rate('no persistence');
    const failed = [...runs.values()].flat().reduce((sum, r) => sum + r.failed, 0);
    return {
      rows: [
        ...MODES.map((mode) => ({
          measure: `join req/s, ${mode.name} (median of ${o.runs}); p99 ms`,
          value: `${fmt(rate(mode.name))}; ${fmt(p99(mode.name))}`,
          beside: mode.appendonly ? `no persistence ${fmt(none)}` : undefined,
          ratio: mode.appendonly ? `${round(rate(mode.name) / none, 2)}x` : undefined,
        })),
        { measure: 'joins answered other than 2xx', value: fmt(failed) },
      ],
      data: { options: o, runs: Object.fromEntries(runs) },
    };
  },
});
