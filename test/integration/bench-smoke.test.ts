// The benchmarks at tiny sizes (bench/, issue 5), so that they keep working: every scenario runs
// against real servers and must produce sane figures. Speed is not judged here; the full runs are
// `npm run bench`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBenchEnv, type BenchEnv } from '../../bench/env.ts';
import { silentProgress } from '../../bench/lib/progress.ts';
import { admission, drain, draw, durability, flashSale, idle, join, joinToHold, status, streams } from '../../bench/scenarios/index.ts';

describe('benchmarks at smoke sizes', () => {
  let env: BenchEnv;
  before(async () => {
    env = await createBenchEnv({
      outDir: 'test-artifacts/bench-smoke',
      logLevel: 'warn',
      batchSize: 200,
      cpuProf: false,
      split: false,
      // Short rate limit windows, so that the flash sale's memory reading need not wait long.
      serverEnv: { RATE_LIMIT_WINDOW_SECONDS: '1' },
    });
  });
  after(() => env?.close());

  test('bench.drain-admits-the-whole-line-and-counts-io-per-batch', async () => {
    const { data, rows } = await drain.run(env, drain.smoke, silentProgress);
    const [run] = data.runs;
    assert.ok(run);
    assert.equal(run.batches, Math.ceil(drain.smoke.buyers / 200));
    assert.equal(run.meanBatch, 200);
    assert.ok(run.holdsPerSecond > 0 && Number.isFinite(run.holdsPerSecond));
    // Today: BEGIN, the lock-and-fence UPDATE, the INSERT with the stock decrement, COMMIT; and take,
    // then one pipeline for the holds and the settle. Sane means a handful, not one per buyer.
    assert.ok(run.sqlPerBatch >= 3 && run.sqlPerBatch < 8, `SQL per batch ${run.sqlPerBatch}`);
    assert.ok(run.redisRoundTripsPerBatch >= 1.5 && run.redisRoundTripsPerBatch < 5, `round trips per batch ${run.redisRoundTripsPerBatch}`);
    assert.ok(run.pgInsertRowsPerSecond > 0 && run.redisHoldsPerSecond > 0);
    assert.equal(rows[0]!.measure.startsWith('holds/s'), true);
  });

  test('bench.drain-with-a-webhook-subscriber-writes-one-event-per-hold-in-the-same-statements', async () => {
    const without = (await drain.run(env, drain.smoke, silentProgress)).data.runs[0]!;
    const { data } = await drain.run(env, { ...drain.smoke, webhook: true }, silentProgress);
    const [run] = data.runs;
    assert.ok(run);
    assert.equal(without.eventsPerHold, 0, 'nothing is written for nobody');
    assert.equal(run.eventsPerHold, 1, 'one hold.granted per hold');
    // A statement per event would be 200 more per batch; the worker's dispatcher, sending the
    // events meanwhile, adds a few of its own (claims and results), more or fewer with timing.
    assert.ok(run.sqlPerBatch < without.sqlPerBatch + 20, `the events cost no statement of their own: ${run.sqlPerBatch} per batch`);
    console.log(`# drain smoke (${drain.smoke.buyers} buyers): ${Math.round(without.holdsPerSecond)} holds/s without a subscriber, `
      + `${Math.round(run.holdsPerSecond)} holds/s with one`);
  });

  test('bench.join-measures-the-route-beside-a-bare-fastify-route-and-one-with-a-redis-round-trip', async () => {
    const { data } = await join.run(env, join.smoke, silentProgress);
    const [run] = data.runs;
    assert.ok(run);
    assert.equal(run.join.failed, 0, 'every join answered 2xx');
    assert.ok(run.join.rps > 0 && run.bare.rps > 0 && run.redis.rps > 0);
    assert.equal(run.redis.failed, 0, 'the Redis ceiling answered 2xx');
    assert.ok(run.join.p99 >= run.join.p50);
  });

  test('bench.join-to-hold-times-every-buyer-from-reply-to-hold', async () => {
    const { data } = await joinToHold.run(env, joinToHold.smoke, silentProgress);
    const expected = joinToHold.smoke.rate * joinToHold.smoke.seconds;
    assert.equal(data.sent, expected);
    assert.equal(data.failed, 0);
    const lag = data.replyToVisibleMs;
    assert.ok(lag.p50 <= lag.p99 && lag.p99 <= lag.max, JSON.stringify(lag));
    assert.ok(lag.max < 10_000, `a hold took ${lag.max} ms`);
  });

  test('bench.flash-sale-holds-every-ticket-oversells-none-and-measures-memory', async () => {
    const { data } = await flashSale.run(env, flashSale.smoke, silentProgress);
    const { buyers, tickets } = flashSale.smoke;
    assert.equal(data.oversold, 0);
    assert.equal(data.outOfOrder, 0);
    assert.deepEqual(data.stock, { capacity: tickets, available: 0, held: tickets });
    assert.equal(data.waiting, buyers - tickets, 'the rest wait, since holds may come back');
    assert.equal(data.joined, buyers, 'every buyer got in, retrying after a refusal');
    assert.equal(data.gaveUp, 0);
    assert.ok(data.allHeldSeconds > 0);
    // Exact, unlike INFO used_memory on a Redis that other tests share.
    assert.ok(data.redis.lineBytesPerBuyer > 50 && data.redis.lineBytesPerBuyer < 1_000, `${data.redis.lineBytesPerBuyer} B per buyer`);
  });

  test('bench.status-serves-a-long-and-a-short-line', async () => {
    const { data } = await status.run(env, status.smoke, silentProgress);
    const [run] = data.runs;
    assert.ok(run && run.length === 2);
    for (const line of run) {
      assert.equal(line.failed, 0);
      assert.ok(line.rps > 0);
    }
    assert.ok(data.lineBytesPerWaiting > 50 && data.lineBytesPerWaiting < 1_000);
  });

  test('bench.draw-places-the-whole-prequeue-and-measures-stalls-and-memory', async () => {
    const { data } = await draw.run(env, draw.smoke, silentProgress);
    assert.ok(data.drawSeconds > 0 && data.drawSeconds < 30, `${data.drawSeconds} s`);
    assert.ok(data.pings > 0, 'the probe ran during the draw');
    assert.ok(data.longestCommandUs > 0 && Number.isFinite(data.longestCommandUs), `${data.longestCommandUs} µs`);
    assert.ok(data.redis.prequeueBytesPerEntry > 20 && data.redis.prequeueBytesPerEntry < 1_000, `${data.redis.prequeueBytesPerEntry} B per entry`);
  });

  test('bench.durability-joins-on-a-redis-of-each-persistence-and-on-a-replicated-cluster', async () => {
    const { data } = await durability.run(env, durability.smoke, silentProgress);
    assert.deepEqual(Object.keys(data.runs), ['no persistence', 'appendfsync everysec', 'appendfsync always',
      '3 masters + 3 replicas, no WAIT', '3 masters + 3 replicas, WAIT 1']);
    for (const [mode, [run]] of Object.entries(data.runs)) {
      assert.ok(run && run.rps > 0, `${mode}: joins were answered`);
      assert.equal(run.failed, 0, `${mode}: every join answered 2xx`);
    }
  });

  test('bench.idle-lines-whose-head-waits-cost-what-no-lines-cost', async () => {
    const { data } = await idle.run(env, idle.smoke, silentProgress);
    const { empty, lines } = data;
    for (const w of [empty, lines]) assert.ok(Number.isFinite(w.sqlStatements) && Number.isFinite(w.redisRoundTrips), JSON.stringify(w));
    // A poll every 2 s and the sweeper's second: over a few seconds, one more or less of either.
    assert.ok(lines.redisRoundTrips - empty.redisRoundTrips <= 3, `Redis round trips/s ${empty.redisRoundTrips} -> ${lines.redisRoundTrips}`);
    assert.ok(lines.sqlStatements - empty.sqlStatements <= 3, `SQL statements/s ${empty.sqlStatements} -> ${lines.sqlStatements}`);
  });

  test('bench.admission-admits-every-line-on-one-redis-and-on-a-cluster-with-each-worker-count', async () => {
    const { data } = await admission.run(env, admission.smoke, silentProgress);
    const { lines, perLine, workers } = admission.smoke;
    assert.equal(data.runs.length, workers.length * 2);
    for (const run of data.runs) {
      assert.equal(run.holds, lines * perLine);
      assert.ok(run.holdsPerSecond > 0);
      assert.equal(run.sqlByWorker.length, run.workers);
      // The cluster's three masters each ran commands of the lines they own.
      const nodes = Object.values(run.commandsByNode);
      assert.equal(nodes.length, run.redis === 'one Redis' ? 1 : 3);
      assert.ok(nodes.every((n) => n > 0), JSON.stringify(run.commandsByNode));
    }
  });

  test('bench.streams-measures-memory-per-stream-and-a-broadcast-to-all', async () => {
    const { data } = await streams.run(env, streams.smoke, silentProgress);
    assert.ok(data.rssAfter > 0 && Number.isFinite(data.bytesPerClient));
    assert.equal(data.broadcasts.length, streams.smoke.broadcasts);
    assert.ok(data.broadcasts.every((b) => b.ms > 0 && b.cpuMs >= 0));
  });
});
