// Scenario 1, drain: a full line admitted as fast as the processor can, beside the two halves of
// its work done alone (PostgreSQL's batched INSERT, the processor's Redis writes). With --webhook,
// an endpoint on this machine subscribes to every webhook event meanwhile: each hold then writes
// its event in the admitting statement, and the worker's dispatcher sends them during the drain.
import { randomBytes } from 'node:crypto';
import { deleteEndpoint, insertEndpoint } from '../../src/db/webhooks.ts';
import { newToken } from '../../src/domain/token.ts';
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks.ts';
import { startWebhookReceiver } from '../../support/webhook-receiver.ts';
import type { BenchEnv, ServerProcess } from '../env.ts';
import { waitFor } from '../../support/wait.ts';
import { watchLine } from '../lib/line-events.ts';
import type { Progress } from '../lib/progress.ts';
import { defineScenario } from '../lib/report.ts';
import { epochMs, fmt, median, round } from '../lib/stats.ts';

export interface DrainOptions {
  buyers: number;
  runs: number;
  /** Buyers drained once before the measured runs, so that the worker's JIT is warm. */
  warmup: number;
  /** An endpoint subscribed to every webhook event while draining (`--webhook`). */
  webhook: boolean;
}

interface DrainRun {
  holdsPerSecond: number;
  seconds: number;
  batches: number;
  meanBatch: number;
  sqlPerBatch: number;
  redisRoundTripsPerBatch: number;
  pgInsertRowsPerSecond: number;
  redisHoldsPerSecond: number;
  /** Outbox rows written per hold (1 with a subscriber, 0 without). */
  eventsPerHold: number;
}

// Issue 15: three quarters of what PostgreSQL alone takes on this machine kind (~60,000/s).
const TARGET = 45_000;
const TTL_MS = 120_000;

export const drain = defineScenario({
  name: 'drain',
  title: '1 drain',
  full: { buyers: 100_000, runs: 3, warmup: 10_000, webhook: false },
  smoke: { buyers: 2_000, runs: 1, warmup: 0, webhook: false },
  async run(env, o: DrainOptions, progress) {
    const worker = await env.startServer({ name: 'drain-worker', role: 'worker', probe: true });
    const runs: DrainRun[] = [];
    const receiver = o.webhook ? await startWebhookReceiver() : undefined;
    const endpoint = receiver && await insertEndpoint(env.ctx.db, receiver.url, [...WEBHOOK_EVENT_TYPES], `whsec_${randomBytes(32).toString('base64')}`);
    try {
      if (o.warmup) await drainOnce(env, worker, o.warmup, 'warm-up', progress);
      for (let i = 1; i <= o.runs; i++) {
        const label = `drain ${i}/${o.runs}`;
        const measured = await drainOnce(env, worker, o.buyers, label, progress);
        const pg = await pgInsertCeiling(env, o.buyers, `${label}, PostgreSQL alone`, progress);
        const redis = await redisWritesCeiling(env, o.buyers, `${label}, Redis alone`, progress);
        runs.push({ ...measured, pgInsertRowsPerSecond: pg, redisHoldsPerSecond: redis });
      }
    } finally {
      await worker.stop();
      if (endpoint) await deleteEndpoint(env.ctx.db, endpoint.id);
      await receiver?.close();
    }
    const m = (f: (r: DrainRun) => number) => median(runs.map(f));
    const rate = m((r) => r.holdsPerSecond);
    const pg = m((r) => r.pgInsertRowsPerSecond);
    const redis = m((r) => r.redisHoldsPerSecond);
    // Done one after the other per batch, the two would give `serial`; the processor overlaps
    // them (a batch commits while the one before settles), so PostgreSQL alone is its ceiling.
    const serial = 1 / (1 / pg + 1 / redis);
    return {
      rows: [
        {
          measure: `holds/s, ${fmt(o.buyers)} in line (median of ${runs.length})${o.webhook ? ', a webhook subscriber' : ''}`,
          value: fmt(rate),
          beside: `PG INSERT alone ${fmt(pg)}/s; Redis alone ${fmt(redis)}/s; both in series ${fmt(serial)}/s`,
          ratio: `${round(rate / pg, 2)}x PG alone`,
          target: `>= ${fmt(TARGET)}/s`,
          met: rate >= TARGET,
        },
        { measure: 'batch size (configured / mean taken)', value: `${env.options.batchSize} / ${fmt(m((r) => r.meanBatch))}` },
        { measure: 'SQL statements per batch', value: fmt(m((r) => r.sqlPerBatch), 2) },
        { measure: 'Redis round trips per batch', value: fmt(m((r) => r.redisRoundTripsPerBatch), 2) },
        { measure: 'webhook events written per hold', value: fmt(m((r) => r.eventsPerHold), 2) },
      ],
      data: { options: o, batchSize: env.options.batchSize, runs, median: { rate, pg, redis, serial } },
    };
  },
});

/** Fills a line while the bench holds its lease, then lets the worker at it and times the drain. */
async function drainOnce(env: BenchEnv, worker: ServerProcess, buyers: number, label: string, progress: Progress) {
  const { lines, db } = env.ctx;
  const id = await env.ticketType(buyers, 1);
  // The worker may look at the line (a join wakes it, and it polls), but cannot take it yet.
  await lines.pause(id);
  await env.fill(id, buyers, (n) => progress.update(`${label}: filling the line ${fmt(n)}/${fmt(buyers)}`));

  let served = 0;
  let batches = 0;
  let taken = 0;
  let finishedAt = 0;
  const unwatch = await watchLine(env, id, (event, at) => {
    const size = Object.keys(event.changes).length;
    if (!size) return;
    batches++;
    taken += size;
    served = event.served ?? served;
    if (served >= buyers && !finishedAt) finishedAt = at;
  });
  try {
    const before = await worker.counters();
    const startedAt = epochMs();
    await lines.resume(id);
    const timer = setInterval(() => {
      const s = (epochMs() - startedAt) / 1000;
      progress.update(`${label}: ${fmt(served)}/${fmt(buyers)} held, ${fmt(served / s)}/s`);
    }, 250);
    try {
      await waitFor(`${label} to finish`, () => finishedAt > 0, { timeoutMs: 30_000, intervalMs: 10, progress: () => served });
    } finally {
      clearInterval(timer);
    }
    // The drain's trailing calls (the empty take, the lease's release) count too; the release is
    // the last of them.
    await waitFor(`${label}: the worker to release the line`, async () => (await lines.leaseRemainingMs(id)) === -2, { timeoutMs: 10_000, intervalMs: 10 });
    const after = await worker.counters();
    const { rows } = await db.query<{ held: number; available: number }>(
      `SELECT (SELECT count(*)::int FROM reservations WHERE ticket_type_id = $1) AS held, quantity_available AS available
       FROM ticket_types WHERE id = $1`,
      [id],
    );
    if (rows[0]!.held !== buyers || rows[0]!.available !== 0) {
      throw new Error(`${label}: ${rows[0]!.held} holds and ${rows[0]!.available} left, expected ${buyers} and 0`);
    }
    const seconds = (finishedAt - startedAt) / 1000;
    const { rows: [events] } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE event_type = 'hold.granted' AND (payload->'data'->>'ticket_type_id')::bigint = $1`,
      [id],
    );
    return {
      eventsPerHold: events!.n / buyers,
      holdsPerSecond: buyers / seconds,
      seconds: round(seconds, 3),
      batches,
      meanBatch: taken / batches,
      sqlPerBatch: (after.sql - before.sql) / batches,
      redisRoundTripsPerBatch: (after.redisWrites - before.redisWrites) / batches,
    };
  } finally {
    unwatch();
    await env.dropTicketType(id);
  }
}

/** The same number of hold rows, one multi-row INSERT and one commit per batch, nothing else. */
async function pgInsertCeiling(env: BenchEnv, rows: number, label: string, progress: Progress): Promise<number> {
  const id = await env.ticketType(rows, 1);
  const batch = env.options.batchSize;
  const batches: [string[], string[], number[]][] = [];
  for (let i = 0; i < rows; i += batch) {
    const n = Math.min(batch, rows - i);
    batches.push([
      Array.from({ length: n }, (_, j) => newToken(id, `ceiling-${i + j}`)),
      Array.from({ length: n }, (_, j) => `ceiling-${i + j}`),
      new Array<number>(n).fill(1),
    ]);
  }
  progress.update(label);
  const started = performance.now();
  for (const [tokens, users, quantities] of batches) {
    await env.ctx.db.withTransaction((client) =>
      client.query(
        `INSERT INTO reservations (token, ticket_type_id, user_id, quantity, expires_at)
         SELECT t, $2, u, q, now() + interval '120 seconds' FROM unnest($1::text[], $3::text[], $4::int[]) AS x (t, u, q)`,
        [tokens, id, users, quantities],
      ),
    );
  }
  const rate = rows / ((performance.now() - started) / 1000);
  // These rows took no stock: left alone, the sweeper would return stock that was never taken.
  await env.dropTicketType(id);
  return rate;
}

/** The processor's Redis work alone: take a batch, then write the holds and settle, per batch. */
async function redisWritesCeiling(env: BenchEnv, buyers: number, label: string, progress: Progress): Promise<number> {
  const { lines, redis, keys } = env.ctx;
  const id = await env.ticketType(buyers, 1);
  const owner = 'bench-ceiling';
  const epoch = (await lines.lease(id, owner, 600_000))!;
  const tokens = await env.fill(id, buyers, (n) => progress.update(`${label}: filling ${fmt(n)}/${fmt(buyers)}`));
  progress.update(label);
  const started = performance.now();
  try {
    for (;;) {
      const taken = await lines.take(id, owner, env.options.batchSize, 600_000);
      if (taken.kind !== 'batch') break;
      // As the processor does, less PostgreSQL.
      await lines.settle(id, epoch, { granted: taken.candidates, soldOut: [], waiting: [], expiresAt: new Date(Date.now() + TTL_MS), dropped: taken.dropped });
    }
    const served = Number(await redis.get(keys.line(id).served));
    if (served !== buyers) throw new Error(`${label}: served ${served}, expected ${buyers}`);
    return buyers / ((performance.now() - started) / 1000);
  } finally {
    await env.dropLine(id);
  }
}
