// Issue 3: cancel. A pending buyer leaves the line; a hold's stock returns at once and goes to the
// next buyer; a cancel racing the buyer's admission leaves neither a hold nor a leak.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';
import { joinInOrder } from '../helpers/sale.ts';

let h: Harness;
let app: Awaited<ReturnType<Harness['app']>>;
before(async () => {
  h = await createHarness({ JOIN_LIMIT_PER_IP: '0', PROCESSOR_BATCH_SIZE: '8' });
  await h.engine();
  app = await h.app();
});
after(() => h.close());

const status = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json();
const cancel = (token: string) => app.inject({ method: 'POST', url: '/reservation/cancel', payload: { token } });
const stock = async (tt: number) =>
  (await h.ctx.db.query<{ q: number }>('SELECT quantity_available AS q FROM ticket_types WHERE id = $1', [tt])).rows[0]!.q;

test('cancel.hold-returns-stock-at-once-and-the-next-buyer-is-admitted', async () => {
  const tt = await h.ticketType(2);
  const [a, b, c] = (await joinInOrder(app, tt, 3, 'hold')) as [string, string, string];
  await waitFor('two holds', async () => (await status(b)).status === 'reserved');
  assert.equal((await status(c)).status, 'pending');

  const started = Date.now();
  const res = await cancel(a);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { status: 'cancelled' });
  await waitFor('the next buyer admitted', async () => (await status(c)).status === 'reserved');
  assert.ok(Date.now() - started < 2_000, 'the next buyer got the returned ticket within moments');
  assert.equal((await status(a)).status, 'cancelled');
  assert.equal((await cancel(a)).statusCode, 200, 'a repeat answers the same');
  const late = await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token: a } });
  assert.equal(late.statusCode, 409);
  assert.equal(await stock(tt), 0);
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
});

test('cancel.pending-buyer-leaves-the-line-and-never-gets-a-hold', async () => {
  const tt = await h.ticketType(1);
  const [a, b, c] = (await joinInOrder(app, tt, 3, 'pending')) as [string, string, string];
  await waitFor('the hold', async () => (await status(a)).status === 'reserved');
  assert.equal((await status(b)).position, 1);

  assert.deepEqual((await cancel(b)).json(), { status: 'cancelled' });
  assert.equal((await status(b)).status, 'cancelled');
  assert.equal((await cancel(b)).statusCode, 200, 'a repeat answers the same');
  assert.equal((await cancel(a)).statusCode, 200);
  await waitFor('the buyer behind the cancelled one admitted', async () => (await status(c)).status === 'reserved');
  const { rows } = await h.ctx.db.query('SELECT 1 FROM reservations WHERE token = $1', [b]);
  assert.equal(rows.length, 0, 'the cancelled buyer never got a hold');
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
});

test('cancel.racing-admission-leaves-no-hold-and-no-leak', { timeout: 30_000 }, async () => {
  const capacity = 1_000;
  const tt = await h.ticketType(capacity);
  // Every other buyer cancels the moment their join is acknowledged, while the processor admits
  // the line in batches of 8: some cancels land before the take, some while the batch is in flight.
  const outcomes = await Promise.all(Array.from({ length: 400 }, async (_, i) => {
    const res = await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: `race-${i}`, ticket_type_id: tt } });
    const token = res.json().queue_token as string;
    if (i % 2) assert.deepEqual((await cancel(token)).json(), { status: 'cancelled' });
    return { token, cancelled: i % 2 === 1 };
  }));
  await waitFor('every buyer reserved or cancelled', async () => {
    const views = await Promise.all(outcomes.map((o) => status(o.token)));
    const wrong = views.flatMap((v, i) => v.status === (outcomes[i]!.cancelled ? 'cancelled' : 'reserved') ? [] : [`${outcomes[i]!.token}: ${JSON.stringify(v)}`]);
    return wrong.slice(0, 5);
  }, { until: (wrong) => wrong.length === 0, intervalMs: 200, timeoutMs: 30_000 });

  const { rows } = await h.ctx.db.query<{ token: string; status: string }>(
    'SELECT token, status FROM reservations WHERE ticket_type_id = $1', [tt]);
  const holds = new Map(rows.map((r) => [r.token, r.status]));
  for (const o of outcomes) {
    if (o.cancelled) assert.ok([undefined, 'cancelled'].includes(holds.get(o.token)), `${o.token}: ${holds.get(o.token)}`);
    else assert.equal(holds.get(o.token), 'reserved');
  }
  assert.equal(await stock(tt), capacity - 200, 'holds revoked after a cancel gave their stock back');
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
});

test('cancel.while-admission-is-in-flight-revokes-the-hold', async () => {
  const tt = await h.ticketType(5);
  // Hold the ticket type's row as an admission does (an UPDATE of no key column): the processor
  // takes the buyer and then waits on the lock; the cancel's foreign-key check does not.
  const blocker = await h.ctx.db.pool.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM ticket_types WHERE id = $1 FOR NO KEY UPDATE', [tt]);
    const [token] = (await joinInOrder(app, tt, 1, 'in-flight')) as [string];
    const k = h.ctx.keys.line(tt);
    await waitFor('the batch taken', async () => (await h.ctx.redis.llen(k.processing)) === 1);
    assert.deepEqual((await cancel(token)).json(), { status: 'cancelled' });
    await blocker.query('COMMIT');

    await waitFor('the hold granted in flight, then revoked', async () => {
      const { rows } = await h.ctx.db.query<{ status: string }>('SELECT status FROM reservations WHERE token = $1', [token]);
      return rows[0]?.status === 'cancelled';
    });
    assert.equal(await stock(tt), 5);
    assert.equal((await status(token)).status, 'cancelled');
    await assertStockInvariants(h.ctx.db);
    await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    blocker.release();
  }
});
