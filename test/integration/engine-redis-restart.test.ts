// Issue 3 and I4: Redis (AOF, appendfsync always) is killed with -9 in the middle of a storm of
// joins, while a separate worker process admits the line, and started again: every acknowledged
// join is still in line or holding, in join order, and the worker carries on by itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants, readLine } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

let redis: RedisServer;
let h: Harness;
before(async () => {
  redis = await startRedisServer({ appendfsync: 'always' });
  h = await createHarness({ REDIS_URL: redis.url, JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', PROCESSOR_BATCH_SIZE: '5' });
});
after(async () => {
  await killAll();
  if (!redis.running) await redis.start();
  await h.close();
  await redis.close();
});

test('redis-restart.kill-9-mid-storm-keeps-every-acknowledged-join', { timeout: 120_000 }, async () => {
  const capacity = 150;
  const tt = await h.ticketType(capacity, 1);
  const env = configEnv(h.config);
  const [api] = await Promise.all([startBoxoffice({ role: 'api', env }), startBoxoffice({ role: 'worker', env })]);

  // Buyers join every 7 ms, 300 at least and on until Redis is back. Redis dies once joins are
  // being acknowledged and comes back once they are being refused, so that the storm straddles the
  // outage however slow the machine.
  const acknowledged: string[] = [];
  let refused = 0;
  let restarted = false;
  const join = async (i: number) => {
    try {
      const res = await fetch(`${api.url}/queue/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: `storm-${i}`, ticket_type_id: tt }),
      });
      if (res.status === 202) acknowledged.push((await res.json()).queue_token);
      else refused++;
    } catch {
      refused++;
    }
  };
  const storm = (async () => {
    const joins: Promise<void>[] = [];
    for (let i = 0; i < 300 || !restarted; i++) {
      joins.push(join(i));
      await delay(7);
    }
    await Promise.all(joins);
  })();
  await waitFor('joins acknowledged before the outage', () => acknowledged.length >= 10);
  await redis.stop('SIGKILL');
  await waitFor('joins refused during the outage', () => refused >= 10);
  await redis.start();
  restarted = true;
  await storm;

  // Every acknowledged join is in the line, and the line is admitted in order up to capacity.
  const line = await waitFor('the worker admitting up to capacity again', async () => {
    const snapshot = await readLine(h.ctx, tt);
    const holding = snapshot.holds.length;
    return snapshot.processing.length === 0 && snapshot.served === Math.min(capacity, snapshot.records.size) && holding > 0
      ? snapshot
      : undefined;
  }, { timeoutMs: 60_000 });
  for (const token of acknowledged) assert.ok(line.records.has(token), `acknowledged join ${token} survived`);
  const bySeq = [...line.records].sort(([, a], [, b]) => a.seq - b.seq).map(([token]) => token);
  assert.deepEqual(line.holds.map((hold) => hold.token), bySeq.slice(0, capacity), 'holds in join order');
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));

  // The worker still answers returned stock: five holds given back go to the next five in line.
  const cancelled = bySeq.slice(0, 5);
  for (const token of cancelled) {
    const res = await fetch(`${api.url}/reservation/cancel`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  const next = bySeq.slice(capacity, capacity + 5);
  await waitFor('the next five admitted', async () => {
    const views = await Promise.all(next.map(async (token) => (await fetch(`${api.url}/reservation/status?token=${token}`)).json()));
    return views.every((v) => v.status === 'reserved');
  });
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
});
