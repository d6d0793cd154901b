// Scenario 4, flash sale: many more buyers than tickets join within seconds. How long until every
// ticket is held, whether a single one was oversold or granted out of join order, and what a
// buyer in line costs in Redis memory. Joins the server cannot answer at once are refused (503 with
// Retry-After); each buyer then tries again after Retry-After plus jitter, as the buyer's page does,
// until they are in line.
import { defineScenario } from '../lib/report.ts';
import { paced } from '../lib/paced.ts';
import { waitFor } from '../../support/wait.ts';
import { watchLine } from '../lib/line-events.ts';
import { fmt, percentile, round } from '../lib/stats.ts';

export interface FlashSaleOptions {
  buyers: number;
  tickets: number;
  /** Joins per second: buyers / rate is how long the rush lasts. */
  rate: number;
  /** Connections the buyers use at most at once (each buyer's browser would have its own). */
  connections: number;
}

const TARGET_BYTES = 200;
const TARGET_ACCEPTED_P99_MS = 100;
const TARGET_REFUSED_P99_MS = 20;
/** A buyer gives up after this many refusals (none should). */
const MAX_ATTEMPTS = 100;

/**
 * The server's own view of the joins it answered with `status`, from its request histogram
 * (/metrics: Fastify's onRequest to the reply): how many, and the share answered within `seconds`
 * (a bucket bound). Time spent before the server read a request is not in it.
 */
function serverWithin(metrics: string, status: number, seconds: number): { count: number; share: number } {
  let count = 0;
  let within = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('boxoffice_http_request_duration_seconds_bucket{') || !line.includes('route="/queue/join"')
      || !line.includes(`status_code="${status}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)![1]!;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === '+Inf') count = value;
    if (Number(le) === seconds) within = value;
  }
  return { count, share: count ? within / count : NaN };
}

/** Retry-After plus up to as much again at random, so that refused buyers do not come back together. */
function retryDelayMs(headers: { 'retry-after'?: string }): number {
  const seconds = Number(headers['retry-after']);
  const base = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
  return base + Math.random() * base;
}

export const flashSale = defineScenario({
  name: 'flash-sale',
  title: '4 flash sale',
  full: { buyers: 50_000, tickets: 5_000, rate: 10_000, connections: 1_000 },
  smoke: { buyers: 1_000, tickets: 100, rate: 1_000, connections: 100 },
  async run(env, o: FlashSaleOptions, progress) {
    const { db, redis, keys } = env.ctx;
    const system = await env.startSystem('flash-sale');
    const id = await env.ticketType(o.tickets, 1);
    let held = 0;
    let allHeldAt = 0;
    const unwatch = await watchLine(env, id, (event, at) => {
      for (const status of Object.values(event.changes)) if (status === 'reserved') held++;
      if (held >= o.tickets && !allHeldAt) allHeldAt = at;
    });
    try {
      const memoryBefore = await env.usedMemory();
      const attempts = new Uint16Array(o.buyers);
      const joins = await paced({
        url: system.url, path: '/queue/join', rate: o.rate, count: o.buyers, connections: o.connections,
        body: (i) => `{"user_id":"fan-${i}","ticket_type_id":${id}}`,
        retryAfter: (reply, headers) => {
          if (reply.status !== 503 && reply.status !== 429) return undefined;
          return ++attempts[reply.index]! < MAX_ATTEMPTS ? retryDelayMs(headers) : undefined;
        },
        onProgress: (sent, answered) => progress.update(`flash sale: ${fmt(sent)} joins sent, ${fmt(answered)} answered, ${fmt(held)}/${fmt(o.tickets)} held`),
      });
      const refusedBuyers = attempts.reduce((n, a) => n + (a > 0 ? 1 : 0), 0);
      const metrics = await (await fetch(`${system.url}/metrics`)).text();
      const serverAccepted = serverWithin(metrics, 202, 0.1);
      const serverRefused = serverWithin(metrics, 503, 0.025);
      await waitFor('every ticket to be held', () => allHeldAt > 0, { timeoutMs: 30_000, intervalMs: 10, progress: () => held });
      const memoryRush = await env.usedMemory();
      // The join rate limit keeps a counter per user for its window: spent once the window ends.
      const counters = `${keys.rateLimit}*`;
      await waitFor('the rate limit counters to expire before measuring memory', async () => {
        const left = await env.countKeys(counters);
        if (left) progress.update('flash sale: waiting for the rate limit counters to expire before measuring memory');
        return left === 0;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const memoryAfter = await env.usedMemory();
      const line = await env.lineBytes(id);
      const k = keys.line(id);
      const waiting = (await redis.llen(k.queue)) + (await redis.llen(k.processing));

      // I1 and I3 from the system of record: stock adds up, and the holders are the first in line.
      const { rows } = await db.query<{ capacity: number; available: number; held: number; tokens: string[] }>(
        `SELECT t.capacity, t.quantity_available AS available, coalesce(sum(r.quantity), 0)::int AS held,
                coalesce(array_agg(r.token) FILTER (WHERE r.token IS NOT NULL), '{}') AS tokens
         FROM ticket_types t LEFT JOIN reservations r ON r.ticket_type_id = t.id AND r.status IN ('reserved', 'confirmed')
         WHERE t.id = $1 GROUP BY t.id`,
        [id],
      );
      const stock = rows[0]!;
      const oversold = Math.max(0, stock.held - stock.capacity) + (stock.available + stock.held !== stock.capacity ? 1 : 0);
      const records = await env.ctx.lines.records(id, stock.tokens);
      const outOfOrder = stock.tokens.filter((t) => (records.get(t)?.seq ?? Infinity) > o.tickets).length;

      const allHeldSeconds = (allHeldAt - joins.firstSentAt) / 1000;
      const joinSeconds = (joins.lastRepliedAt - joins.firstSentAt) / 1000;
      const perBuyer = (memoryAfter - memoryBefore) / o.buyers;
      return {
        rows: [
          {
            measure: `${fmt(o.buyers)} buyers at ${fmt(o.rate)}/s for ${fmt(o.tickets)} tickets: s until all held`,
            value: fmt(allHeldSeconds, 2),
            beside: `last join answered at ${fmt(joinSeconds, 2)} s (${fmt(o.buyers / joinSeconds)} joins/s)`,
          },
          {
            measure: 'accepted joins (202) at the client: p50 / p99 (ms)',
            value: `${fmt(percentile(joins.latencies, 50), 1)} / ${fmt(percentile(joins.latencies, 99), 1)}`,
            target: `p99 <= ${TARGET_ACCEPTED_P99_MS}`,
            met: percentile(joins.latencies, 99) <= TARGET_ACCEPTED_P99_MS,
          },
          {
            measure: 'refused joins (503, Retry-After) at the client: p50 / p99 (ms)',
            value: joins.refusedLatencies.length
              ? `${fmt(percentile(joins.refusedLatencies, 50), 1)} / ${fmt(percentile(joins.refusedLatencies, 99), 1)}` : 'none refused',
            beside: `${fmt(joins.refusedLatencies.length)} refusals of ${fmt(refusedBuyers)} buyers (${fmt((100 * refusedBuyers) / o.buyers, 1)}%)`,
            target: `p99 <= ${TARGET_REFUSED_P99_MS}`,
            met: !joins.refusedLatencies.length || percentile(joins.refusedLatencies, 99) <= TARGET_REFUSED_P99_MS,
          },
          {
            measure: 'the same in the server (its request histogram, from reading the request to the reply)',
            value: `${fmt(100 * serverAccepted.share, 1)}% of 202s within 100 ms`,
            beside: serverRefused.count ? `${fmt(100 * serverRefused.share, 1)}% of ${fmt(serverRefused.count)} 503s within 25 ms` : 'no 503',
          },
          {
            measure: 'buyers in line in the end, retrying after Retry-After with jitter',
            value: `${fmt(joins.ok)} / ${fmt(o.buyers)}`,
            beside: `most attempts by one buyer ${fmt(Math.max(...attempts) + 1)}`,
            target: 'all',
            met: joins.ok === o.buyers,
          },
          { measure: 'oversold tickets (I1 checked in PostgreSQL)', value: fmt(oversold), target: '0', met: oversold === 0 },
          { measure: 'holds out of join order (I3)', value: fmt(outOfOrder), target: '0', met: outOfOrder === 0 },
          {
            measure: 'Redis bytes per buyer (INFO used_memory delta, after the rush)',
            value: fmt(perBuyer),
            beside: `line keys by MEMORY USAGE ${fmt(line.total / o.buyers)}; at the last hold, rate limit counters included, ${fmt((memoryRush - memoryBefore) / o.buyers)}`,
            target: `<= ${TARGET_BYTES}`,
            met: perBuyer <= TARGET_BYTES,
          },
        ],
        data: {
          options: o,
          allHeldSeconds: round(allHeldSeconds, 3),
          joinSeconds: round(joinSeconds, 3),
          joinLatencyMs: { p50: percentile(joins.latencies, 50), p99: percentile(joins.latencies, 99), max: percentile(joins.latencies, 100) },
          refusedLatencyMs: {
            p50: percentile(joins.refusedLatencies, 50), p99: percentile(joins.refusedLatencies, 99), max: percentile(joins.refusedLatencies, 100),
          },
          refusals: joins.refusedLatencies.length,
          server: { accepted: serverAccepted, refused: serverRefused },
          refusedBuyers,
          joined: joins.ok,
          gaveUp: joins.failed,
          oversold,
          outOfOrder,
          stock: { capacity: stock.capacity, available: stock.available, held: stock.held },
          waiting,
          redis: { memoryBefore, memoryRush, memoryAfter, bytesPerBuyer: round(perBuyer, 1), lineBytes: line, lineBytesPerBuyer: round(line.total / o.buyers, 1) },
        },
      };
    } finally {
      unwatch();
      await system.stop();
      await env.dropTicketType(id);
    }
  },
});
