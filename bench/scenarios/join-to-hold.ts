// Scenario 3, join to hold: a steady stream of joins with stock available; for each buyer, the time
// from the join's reply to the moment the hold is visible (the settle script's event on the line's
// channel, which is what a status poll or the live stream would show). Both instants are taken in
// this process on one clock; the PostgreSQL transaction start of the hold (reservations.created_at,
// the server's own timestamp) splits the wait into "until the processor picked it up" and the rest.
import { defineScenario } from '../lib/report.ts';
import { paced } from '../lib/paced.ts';
import { waitFor } from '../../support/wait.ts';
import { watchLine } from '../lib/line-events.ts';
import { fmt, percentile, round } from '../lib/stats.ts';

export interface JoinToHoldOptions {
  rate: number;
  seconds: number;
  warmupSeconds: number;
}

const TARGET_P99_MS = 50;

export const joinToHold = defineScenario({
  name: 'join-to-hold',
  title: '3 join to hold',
  full: { rate: 1_000, seconds: 20, warmupSeconds: 3 },
  smoke: { rate: 100, seconds: 2, warmupSeconds: 0 },
  async run(env, o: JoinToHoldOptions, progress) {
    const system = await env.startSystem('join-to-hold');
    try {
      if (o.warmupSeconds) await stream(o.warmupSeconds, 'warming up');
      const { replied, visible, created, stats } = await stream(o.seconds, 'measuring');

      const lags: number[] = [];
      const pickup: number[] = [];
      for (const [token, repliedAt] of replied) {
        lags.push(visible.get(token)! - repliedAt);
        pickup.push(created.get(token)! - repliedAt);
      }
      lags.sort((a, b) => a - b);
      pickup.sort((a, b) => a - b);
      const p = (sorted: number[], q: number) => round(percentile(sorted, q), 1);
      const p99 = p(lags, 99);
      return {
        rows: [
          {
            measure: `reply to hold visible, ${fmt(o.rate)} joins/s for ${o.seconds} s: p50 / p99 / max (ms)`,
            value: `${p(lags, 50)} / ${p99} / ${p(lags, 100)}`,
            target: `p99 <= ${TARGET_P99_MS} ms`,
            met: p99 <= TARGET_P99_MS,
          },
          { measure: 'reply to hold transaction start (created_at): p50 / p99 (ms)', value: `${p(pickup, 50)} / ${p(pickup, 99)}` },
          { measure: 'join latency at the client: p50 / p99 (ms)', value: `${p(stats.latencies, 50)} / ${p(stats.latencies, 99)}` },
          { measure: 'joins sent / held', value: `${fmt(stats.sent)} / ${fmt(visible.size)}` },
        ],
        data: {
          options: o,
          replyToVisibleMs: { p50: p(lags, 50), p90: p(lags, 90), p99, max: p(lags, 100), min: p(lags, 0) },
          replyToTransactionStartMs: { p50: p(pickup, 50), p99: p(pickup, 99), max: p(pickup, 100) },
          joinLatencyMs: { p50: p(stats.latencies, 50), p99: p(stats.latencies, 99) },
          sent: stats.sent,
          failed: stats.failed,
        },
      };
    } finally {
      await system.stop();
    }

    async function stream(seconds: number, phase: string) {
      const count = Math.round(o.rate * seconds);
      const id = await env.ticketType(count, 1);
      const replied = new Map<string, number>();
      const visible = new Map<string, number>();
      const unwatch = await watchLine(env, id, (event, at) => {
        for (const [token, status] of Object.entries(event.changes)) if (status === 'reserved') visible.set(token, at);
      });
      try {
        const stats = await paced({
          url: system.url, path: '/queue/join', rate: o.rate, count, connections: 50,
          body: (i) => `{"user_id":"j2h-${id}-${i}","ticket_type_id":${id}}`,
          onReply: (r) => {
            if (r.status === 202) replied.set(JSON.parse(r.body).queue_token, r.repliedAt);
          },
          onProgress: (sent) => progress.update(`join to hold, ${phase}: ${fmt(sent)}/${fmt(count)} joins, ${fmt(visible.size)} held`),
        });
        if (stats.failed) throw new Error(`${stats.failed} of ${count} joins failed`);
        await waitFor('every join to be held', () => visible.size >= count, { timeoutMs: 10_000, intervalMs: 10, progress: () => visible.size });
        const { rows } = await env.ctx.db.query<{ token: string; at: number }>(
          'SELECT token, extract(epoch FROM created_at) * 1000 AS at FROM reservations WHERE ticket_type_id = $1',
          [id],
        );
        const created = new Map(rows.map((r) => [r.token, Number(r.at)]));
        return { replied, visible, created, stats };
      } finally {
        unwatch();
        await env.dropTicketType(id);
      }
    }
  },
});
