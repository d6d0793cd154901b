// Scenario 7, durability: what Redis's persistence and replication cost a join (issues 10 and 12).
// The join route under the join scenario's load, with the API on a private Redis of each kind in
// turn: one redis-server with no persistence, AOF with `appendfsync everysec`, AOF with `appendfsync
// always` (README: what an acknowledged join survives under each); and a 3-master cluster with one
// replica per master, joins acknowledged by the master alone or after `WAIT 1`
// (REDIS_JOIN_WAIT_REPLICAS; docs/deploy.md: what a failover can lose under each).
import { startRedisCluster } from '../../support/redis-cluster.ts';
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

/** A private Redis for one run: the API's environment for it, and how to stop it. */
interface Store {
  env: Record<string, string>;
  close(): Promise<void>;
}

async function single(appendfsync?: 'everysec' | 'always'): Promise<Store> {
  const redis = await startRedisServer(appendfsync ? { appendonly: true, appendfsync } : { appendonly: false });
  return { env: { REDIS_URL: redis.url }, close: () => redis.close() };
}

async function replicated(waitReplicas: 0 | 1): Promise<Store> {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  process.once('exit', () => cluster.closeNow());
  return { env: { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_JOIN_WAIT_REPLICAS: String(waitReplicas) }, close: () => cluster.close() };
}

const CLUSTER = '3 masters + 3 replicas';
/** Each mode, and the mode it is compared with. */
const MODES: { name: string; against?: string; start(): Promise<Store> }[] = [
  { name: 'no persistence', start: () => single() },
  { name: 'appendfsync everysec', against: 'no persistence', start: () => single('everysec') },
  { name: 'appendfsync always', against: 'no persistence', start: () => single('always') },
  { name: `${CLUSTER}, no WAIT`, start: () => replicated(0) },
  { name: `${CLUSTER}, WAIT 1`, against: `${CLUSTER}, no WAIT`, start: () => replicated(1) },
];

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
        const store = await mode.start();
        const api = await env.startServer({ name: 'durability-api', role: 'api', env: store.env });
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
          await store.close();
        }
      }
    }
    const rate = (name: string) => median(runs.get(name)!.map((r) => r.rps));
    const p99 = (name: string) => median(runs.get(name)!.map((r) => r.p99));
    const failed = [...runs.values()].flat().reduce((sum, r) => sum + r.failed, 0);
    return {
      rows: [
        ...MODES.map((mode) => ({
          measure: `join req/s, ${mode.name} (median of ${o.runs}); p99 ms`,
          value: `${fmt(rate(mode.name))}; ${fmt(p99(mode.name))}`,
          beside: mode.against && `${mode.against} ${fmt(rate(mode.against))}`,
          ratio: mode.against && `${round(rate(mode.name) / rate(mode.against), 2)}x`,
        })),
        { measure: 'joins answered other than 2xx', value: fmt(failed) },
      ],
      data: { options: o, runs: Object.fromEntries(runs) },
    };
  },
});
