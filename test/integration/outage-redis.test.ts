// Issue 6: a private redis-server (AOF, fsync always) is killed mid-sale and started again. Joins
// answer 503 while it is down, the API and the engine recover by themselves, and every
// acknowledged join is still in line, in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants, lineCounters } from '../../support/invariants.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { waitFor } from '../../support/wait.ts';

type App = Awaited<ReturnType<Harness['app']>>;

// A refused join must come back, not hang: src/redis/client.ts retries connecting at most a
// second apart and fails a command after one retry (measured under 2 s).
const REFUSAL_MS = 6_000;

let redis: RedisServer;
let h: Harness;
let app: App;

before(async () => {
  redis = await startRedisServer();
  h = await createHarness({ REDIS_URL: redis.url, JOIN_LIMIT_PER_IP: '100000', JOIN_LIMIT_PER_USER: '100000' });
  app = await h.app();
  await h.engine();
});

after(async () => {
  if (!redis.running) await redis.start();
  await h.close();
  await redis.close();
});

const join = (user_id: string, ticket_type_id: number) =>
  app.inject({ method: 'POST', url: '/queue/join', payload: { user_id, ticket_type_id } });
const status = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json();

test('outage.redis-down-join-503-then-recovers-with-every-acknowledged-join-in-line', async (t) => {
  const tt = await h.ticketType(3, 1);
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await join(`before-${i}`, tt);
    assert.equal(res.statusCode, 202, res.body);
    tokens.push(res.json().queue_token);
  }
  await waitFor('the first three holds', async () => (await Promise.all(tokens.slice(0, 3).map(status))).every((s) => s.status === 'reserved'));

  await redis.stop('SIGKILL');
  const outageStarted = Date.now();
  let refused = 0;
  let slowest = 0;
  while (refused < 2 || Date.now() - outageStarted < 4_000) {
    const started = Date.now();
    const res = await join(`during-${refused}`, tt);
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'service_unavailable');
    slowest = Math.max(slowest, Date.now() - started);
    assert.ok(slowest < REFUSAL_MS, `a join took ${slowest} ms to fail`);
    refused++;
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().redis, false);
    await delay(200);
  }
  const pendingStatus = await app.inject(`/reservation/status?token=${tokens[10]}`);
  assert.equal(pendingStatus.statusCode, 503, pendingStatus.body);
  const outageMs = Date.now() - outageStarted;

  await redis.start();
  const recoveryStarted = Date.now();
  let afterToken = '';
  await waitFor('joins to be accepted again', async () => {
    const res = await join('after', tt);
    if (res.statusCode === 202) afterToken = res.json().queue_token;
    return res.statusCode === 202;
  });
  const recoveryMs = Date.now() - recoveryStarted;
  t.diagnostic(`Redis down ${outageMs} ms: ${refused} joins refused with 503 (slowest in ${slowest} ms); `
    + `joins accepted again ${recoveryMs} ms after it restarted`);

  // Every acknowledged join is still there: three holds, then the line in join order.
  const after = await Promise.all(tokens.map(status));
  assert.deepEqual(after.slice(0, 3).map((s) => s.status), ['reserved', 'reserved', 'reserved']);
  assert.deepEqual(after.slice(3).map((s) => [s.status, s.position]), tokens.slice(3).map((_, i) => ['pending', i + 1]));
  // In line: waiting, or in a batch the processor has taken (the head waits for stock).
  const line = await lineCounters(h.ctx, tt);
  assert.equal(line.queued + line.processing, 18);
  assert.equal((await status(afterToken)).position, 18);

  // The engine resumed by itself: a cancelled hold goes to the next in line, in order.
  const cancelled = await app.inject({ method: 'POST', url: '/reservation/cancel', payload: { token: tokens[1] } });
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  await waitFor('the next buyer to be admitted', async () => (await status(tokens[3]!)).status === 'reserved');
  assert.equal((await status(tokens[4]!)).position, 1);
  await assertStockInvariants(h.ctx.db);
  const { rows } = await h.ctx.db.query<{ token: string }>('SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
  assert.deepEqual(rows.map((r) => r.token), [tokens[0], tokens[1], tokens[2], tokens[3]], 'I3: holds in join order');
});
