// Scenario 6, the pre-queue draw (issue 13): a pre-queue of 1,000,000 entries sealed at its
// opening and placed in the line in draw order by a worker process. Measured: the time from the
// opening to the last entry in line, Redis memory (the pre-queue, and at its peak while both the
// pre-queue and the line exist), and the longest Redis stall, three ways: Redis's SLOWLOG entries
// of the window that touch this line's keys (every command over slowlog-log-slower-than, 10 ms by
// default: none means no command of the draw blocked Redis that long); Redis's latency histogram of
// the commands the draw runs (EVALSHA: the placement chunks; LRANGE: the reads), whose growth over
// the window bounds the longest of them (but counts every client of a shared Redis); and a probe
// that sends a PING every millisecond on a connection of its own and keeps the slowest answer
// (which also counts this machine's scheduling delays: an upper bound on a loaded machine).
import { setTimeout as delay } from 'node:timers/promises';
import { createEvent, createTicketType } from '../../src/db/catalog.ts';
import { Redis } from 'ioredis';
import { waitFor } from '../../support/wait.ts';
import { defineScenario } from '../lib/report.ts';
import { epochMs, fmt, round } from '../lib/stats.ts';

export interface DrawOptions {
  entries: number;
}

const TARGET_STALL_MS = 10;
const FILL_CHUNK = 2_000;

export const draw = defineScenario({
  name: 'draw',
  title: '6 draw',
  full: { entries: 1_000_000 },
  smoke: { entries: 5_000 },
  async run(env, o: DrawOptions, progress) {
    const { ctx } = env;
    const farAway = Date.now() + 86_400_000;
    const event = await createEvent(ctx.db, { name: 'Draw benchmark', currency: ctx.config.DEFAULT_CURRENCY, starts_at: new Date(farAway + 86_400_000).toISOString() });
    // Capacity 1: the first drawn buyer gets the hold and the rest wait for it, so that nothing
    // but the draw runs in the measured window.
    const tt = (await createTicketType(ctx.db, event.id, {
      name: 'Drawn', price: '1.00', capacity: 1, max_per_order: 1,
      prequeue_opens_at: new Date(Date.now() - 1_000).toISOString(), sale_starts_at: new Date(farAway).toISOString(),
    }))!.id;
    const k = ctx.keys.line(tt);

    const emptyMemory = await env.usedMemory();
    const fillStarted = epochMs();
    for (let i = 0; i < o.entries; i += FILL_CHUNK) {
      await Promise.all(Array.from({ length: Math.min(FILL_CHUNK, o.entries - i) }, (_, j) =>
        ctx.lines.join(tt, { userId: `entry-${i + j}`, quantity: 1, prequeueUntilMs: farAway })));
      progress.update(`draw: filling the pre-queue ${fmt(i + FILL_CHUNK)}/${fmt(o.entries)}`);
    }
    const fillSeconds = (epochMs() - fillStarted) / 1000;
    const filledMemory = await env.usedMemory();
    const prequeueBytes = Number(await ctx.redis.memory('USAGE', k.prequeue, 'SAMPLES', 0));

    const worker = await env.startServer({ name: 'draw-worker', role: 'worker' });
    // A connection of its own, one command at a time: its round trips time Redis's stalls.
    const probe = new Redis(ctx.config.REDIS_URL);
    try {
      // The Redis may be shared: the window's entries are those logged after this one, not a reset log.
      type SlowlogEntry = [number, number, number, string[]];
      const lastBefore = ((await probe.slowlog('GET', 1)) as SlowlogEntry[])[0]?.[0] ?? -1;
      const histogramBefore = await commandHistogram(probe);
      // The worker's clock opens the sale on time; the opening is set by the organiser's PATCH path.
      const openingAt = Date.now() + 2_000;
      await ctx.db.query('UPDATE ticket_types SET sale_starts_at = $2 WHERE id = $1', [tt, new Date(openingAt)]);

      let longestPingMs = 0;
      let pings = 0;
      let peakMemory = filledMemory;
      let placedAt = 0;
      let sealedAt = 0;
      const pinging = (async () => {
        while (!placedAt) {
          const sent = performance.now();
          await probe.ping();
          const took = performance.now() - sent;
          if (epochMs() >= openingAt) {
            longestPingMs = Math.max(longestPingMs, took);
            pings++;
          }
          await delay(1);
        }
      })();
      await waitFor('the draw to be placed', async () => {
        const state = await ctx.redis.hget(k.draw, 'state');
        if (state && !sealedAt) sealedAt = epochMs();
        if (pings % 20 === 0) peakMemory = Math.max(peakMemory, await env.usedMemory());
        progress.update(`draw: ${state ?? 'waiting for the opening'}, ${fmt(Number(await ctx.redis.hget(k.draw, 'placed') ?? 0))} placed`);
        if (state === 'placed') placedAt = epochMs();
        return state === 'placed';
      }, { timeoutMs: 300_000, intervalMs: 5 });
      await pinging;
      const longestCommandUs = longestIn(histogramBefore, await commandHistogram(probe));
      const placedMemory = await env.usedMemory();
      const slowlog = ((await probe.slowlog('GET', 128)) as SlowlogEntry[])
        .filter(([id, , , args]) => id > lastBefore && args.some((arg) => arg.startsWith(env.config.REDIS_KEY_PREFIX)));
      const slowMs = slowlog.map(([, , micros]) => micros / 1000);
      const { rows: [times] } = await ctx.db.query<{ computed: number; placed: number }>(
        `SELECT extract(epoch FROM drawn_at) * 1000 AS computed, extract(epoch FROM placed_at) * 1000 AS placed FROM draws WHERE ticket_type_id = $1`, [tt]);
      const { rows } = await ctx.db.query<{ entries: number }>('SELECT entries FROM draws WHERE ticket_type_id = $1', [tt]);
      if (rows[0]?.entries !== o.entries) throw new Error(`the draw recorded ${rows[0]?.entries} entries, expected ${o.entries}`);

      const seconds = (placedAt - openingAt) / 1000;
      const data = {
        options: o,
        fillSeconds: round(fillSeconds, 1),
        drawSeconds: round(seconds, 2),
        computeSeconds: round((times!.computed - openingAt) / 1000, 2),
        placeSeconds: round((times!.placed - times!.computed) / 1000, 2),
        sealLagMs: round(sealedAt - openingAt),
        redis: {
          prequeueBytesPerEntry: round((filledMemory - emptyMemory) / o.entries),
          prequeueListBytes: prequeueBytes,
          peakBytesDuringDraw: peakMemory - emptyMemory,
          afterDrawBytes: placedMemory - emptyMemory,
        },
        longestCommandUs,
        longestPingMs: round(longestPingMs, 2),
        pings,
        slowlog: { entries: slowlog.length, longestMs: slowMs.length ? Math.max(...slowMs) : 0 },
      };
      return {
        rows: [
          {
            measure: `${fmt(o.entries)} entries: opening to all in line (s)`, value: fmt(seconds, 2),
            beside: `the draw computed in ${fmt(data.computeSeconds, 1)} s, placed in ${fmt(data.placeSeconds, 1)} s; `
              + `the pre-queue filled at ${fmt(o.entries / fillSeconds)} joins/s`,
          },
          {
            measure: 'commands of the draw over 10 ms (SLOWLOG, this line\'s keys)',
            value: slowlog.length ? `${slowlog.length}, longest ${fmt(Math.max(...slowMs), 1)} ms` : '0',
            beside: `every EVALSHA/LRANGE of the window (all clients) <= ${fmt(longestCommandUs / 1000, 1)} ms; slowest of ${fmt(pings)} PINGs ${fmt(longestPingMs, 1)} ms`,
            target: `none over about ${TARGET_STALL_MS} ms`, met: slowMs.every((ms) => ms <= TARGET_STALL_MS * 1.5),
          },
          {
            measure: 'Redis bytes per pre-queue entry (INFO used_memory delta)', value: fmt(data.redis.prequeueBytesPerEntry),
            beside: `pre-queue list alone ${fmt(prequeueBytes / o.entries)} B per entry (MEMORY USAGE)`,
          },
          {
            measure: 'Redis memory: peak during the draw / after it (MB)',
            value: `${fmt(data.redis.peakBytesDuringDraw / 1e6, 1)} / ${fmt(data.redis.afterDrawBytes / 1e6, 1)}`,
            beside: `${fmt(((filledMemory - emptyMemory) / 1e6), 1)} MB before it`,
          },
        ],
        data,
      };
    } finally {
      probe.disconnect();
      await worker.stop();
      await env.dropTicketType(tt);
    }
  },
});

type Histogram = Map<string, Map<number, number>>;

/** LATENCY HISTOGRAM of the draw's commands: per command, cumulative calls at or under each bucket (µs). */
async function commandHistogram(redis: Redis): Promise<Histogram> {
  const reply = (await redis.call('LATENCY', 'HISTOGRAM', 'evalsha', 'lrange')) as (string | (string | number | number[])[])[];
  const histogram: Histogram = new Map();
  for (let i = 0; i < reply.length; i += 2) {
    const fields = reply[i + 1] as (string | number | number[])[];
    const buckets = fields[fields.indexOf('histogram_usec') + 1] as number[];
    const cumulative = new Map<number, number>();
    for (let b = 0; b < buckets.length; b += 2) cumulative.set(buckets[b]!, buckets[b + 1]!);
    histogram.set(reply[i] as string, cumulative);
  }
  return histogram;
}

/** The smallest bucket (µs) under which every call made between the two readings ran. */
function longestIn(before: Histogram, after: Histogram): number {
  let longest = 0;
  for (const [command, buckets] of after) {
    const earlier = before.get(command) ?? new Map<number, number>();
    const calls = Math.max(...buckets.values()) - Math.max(0, ...earlier.values());
    if (!calls) continue;
    const bound = [...buckets.keys()].sort((a, b) => a - b)
      .find((bucket) => buckets.get(bucket)! - (earlier.get(bucket) ?? lastAtOrBelow(earlier, bucket)) >= calls);
    longest = Math.max(longest, bound ?? Infinity);
  }
  return longest;
}

/** A cumulative histogram's count at `bucket`, where that bucket had no entry yet. */
function lastAtOrBelow(cumulative: Map<number, number>, bucket: number): number {
  let count = 0;
  for (const [b, c] of cumulative) if (b <= bucket) count = Math.max(count, c);
  return count;
}
