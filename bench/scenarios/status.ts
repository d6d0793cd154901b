// Scenario 5, status under load: GET /reservation/status for buyers in a short and in a long line.
// Position is seq - served (O(1)), so the long line must serve as many requests as the short one.
import { hammer, type HammerResult } from '../lib/hammer.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt, median, round } from '../lib/stats.ts';

export interface StatusOptions {
  short: number;
  long: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  runs: number;
}

/** Tokens spread evenly over the line, queried in turn. */
const SAMPLE = 1_000;

export const status = defineScenario({
  name: 'status',
  title: '5 status',
  full: { short: 1_000, long: 100_000, connections: 100, seconds: 10, warmupSeconds: 2, runs: 3 },
  smoke: { short: 100, long: 2_000, connections: 10, seconds: 1, warmupSeconds: 0, runs: 1 },
  async run(env, o: StatusOptions, progress) {
    const lines: { size: number; id: number; sample: string[] }[] = [];
    let bytesPerWaiting = NaN;
    let lineBytes = { total: NaN, byKey: {} as Record<string, number> };
    for (const size of [o.short, o.long]) {
      const id = await env.ticketType(size, 1);
      const before = await env.usedMemory();
      const tokens = await env.fill(id, size, (n) => progress.update(`status: filling a line of ${fmt(size)}: ${fmt(n)}`));
      if (size === o.long) {
        bytesPerWaiting = ((await env.usedMemory()) - before) / size;
        lineBytes = await env.lineBytes(id);
      }
      const step = Math.max(1, Math.floor(size / SAMPLE));
      lines.push({ size, id, sample: tokens.filter((_, i) => i % step === 0) });
    }
    // No worker: the lines stay as long as they are.
    const api = await env.startServer({ name: 'status-api', role: 'api' });
    const runs: HammerResult[][] = [];
    try {
      for (let i = 1; i <= o.runs; i++) {
        const run: HammerResult[] = [];
        for (const line of lines) {
          let n = 0;
          const load = (seconds: number, label: string) =>
            hammer({
              url: api.url, method: 'GET', connections: o.connections, seconds, progress,
              label: `status ${i}/${o.runs}, ${fmt(line.size)} waiting${label}`,
              next: () => ({ path: `/reservation/status?token=${line.sample[n++ % line.sample.length]}` }),
            });
          if (o.warmupSeconds) await load(o.warmupSeconds, ', warming up');
          run.push(await load(o.seconds, ''));
        }
        runs.push(run);
      }
    } finally {
      await api.stop();
      for (const line of lines) await env.dropLine(line.id);
    }
    const m = (line: number, f: (r: HammerResult) => number) => median(runs.map((r) => f(r[line]!)));
    const ratio = median(runs.map((r) => r[1]!.rps / r[0]!.rps));
    const lineBytesPerWaiting = lineBytes.total / o.long;
    const failed = runs.flat().reduce((sum, r) => sum + r.failed, 0);
    return {
      rows: [
        {
          measure: `req/s with ${fmt(o.long)} waiting (median of ${runs.length})`,
          value: fmt(m(1, (r) => r.rps)),
          beside: `${fmt(m(0, (r) => r.rps))} with ${fmt(o.short)} waiting`,
          ratio: `${round(ratio, 2)}x`,
          target: 'does not fall (~1.0x)',
          met: ratio >= 0.9 && failed === 0,
        },
        {
          measure: 'latency p50 / p99 (ms)',
          value: `${fmt(m(1, (r) => r.p50))} / ${fmt(m(1, (r) => r.p99))}`,
          beside: `${fmt(m(0, (r) => r.p50))} / ${fmt(m(0, (r) => r.p99))} with ${fmt(o.short)}`,
        },
        {
          measure: `Redis bytes per waiting buyer (${fmt(o.long)} in line, INFO used_memory delta)`,
          value: fmt(bytesPerWaiting),
          beside: `line keys by MEMORY USAGE: ${fmt(lineBytesPerWaiting)}`,
          target: '<= 128',
          met: bytesPerWaiting <= 128,
        },
        { measure: 'status answers other than 2xx', value: fmt(failed) },
      ],
      data: {
        options: o, runs, median: { ratio }, bytesPerWaiting, lineBytesPerWaiting,
        lineBytesPerWaitingByKey: Object.fromEntries(Object.entries(lineBytes.byKey).map(([k, v]) => [k, round(v / o.long, 1)])),
      },
    };
  },
});
