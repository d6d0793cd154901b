// Issue 3: confirm is atomic: concurrent confirms make one booking, and a confirm racing the hold's
// expiry ends confirmed (stock stays sold) or expired (stock returns), never both (I1, I2).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';
import { joinInOrder } from '../helpers/sale.ts';

let h: Harness;
let app: Awaited<ReturnType<Harness['app']>>;
before(async () => {
  h = await createHarness({ RESERVATION_TTL_SECONDS: '2', JOIN_LIMIT_PER_IP: '0' });
  await h.engine();
  await h.engine(undefined, h.peer());
  app = await h.app();
});
after(() => h.close());

/** Gives a hold an hour, so that a slow machine cannot let it run out under a test about something else. */
async function extend(token: string): Promise<void> {
  await h.ctx.db.query(`UPDATE reservations SET expires_at = now() + interval '1 hour' WHERE token = $1`, [token]);
}

const status = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json();
const confirm = (token: string) => app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token } });

test('confirm.twenty-concurrently-create-one-booking', async () => {
  const tt = await h.ticketType(5);
  const [token] = await joinInOrder(app, tt, 1, 'twenty');
  await waitFor('the hold', async () => (await status(token!)).status === 'reserved');
  await extend(token!);

  const replies = await Promise.all(Array.from({ length: 20 }, () => confirm(token!)));
  for (const r of replies) assert.equal(r.statusCode, 200, r.body);
  const bookingIds = new Set(replies.map((r) => r.json().booking_id));
  assert.equal(bookingIds.size, 1, 'every confirm answers the same booking');
  const { rows } = await h.ctx.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM ticket_bookings b JOIN reservations r ON r.id = b.reservation_id WHERE r.token = $1', [token]);
  assert.equal(rows[0]!.n, 1, 'one booking row');
  const view = await status(token!);
  assert.equal(view.status, 'confirmed');
  assert.equal(view.booking_id, [...bookingIds][0]);
  assert.equal((await confirm(token!)).json().booking_id, view.booking_id, 'a later repeat answers the same booking');
  await assertStockInvariants(h.ctx.db);
});

test('confirm.wrong-states-answer-409-or-404', async () => {
  const tt = await h.ticketType(1);
  const [holder, waiter] = await joinInOrder(app, tt, 2, 'states');
  await waitFor('the hold', async () => (await status(holder!)).status === 'reserved');
  await extend(holder!);
  const pending = await confirm(waiter!);
  assert.equal(pending.statusCode, 409);
  assert.equal(pending.json().error.code, 'not_reserved');
  const unknown = await confirm(`${'A'.repeat(22)}.${tt}.0`);
  assert.equal(unknown.statusCode, 404);
  assert.equal((await status(waiter!)).status, 'pending', 'a refused confirm changes nothing');
});

test('confirm.racing-expiry-ends-confirmed-or-expired-never-both', { timeout: 30_000 }, async () => {
  const capacity = 60;
  const tt = await h.ticketType(capacity);
  const tokens = await joinInOrder(app, tt, capacity, 'race');
  const views = await waitFor('every buyer holding', async () => {
    const all = await Promise.all(tokens.map(status));
    return all.every((v) => v.status === 'reserved') ? all : undefined;
  });

  // Each confirm is sent at a random moment from 250 ms before its hold runs out to 150 ms after,
  // while two sweepers expire the holds right at their deadline.
  const outcomes = await Promise.all(tokens.map(async (token, i) => {
    const at = Date.parse(views[i].expires_at) - 250 + Math.random() * 400;
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
    const res = await confirm(token);
    return { token, code: res.statusCode, body: res.json() };
  }));
  await waitFor('every hold settled either way', async () => {
    const { rows } = await h.ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM reservations WHERE ticket_type_id = $1 AND status = 'reserved'`, [tt]);
    return rows[0]!.n === 0;
  });

  const { rows } = await h.ctx.db.query<{ token: string; status: string }>(
    'SELECT token, status FROM reservations WHERE ticket_type_id = $1', [tt]);
  const final = new Map(rows.map((r) => [r.token, r.status]));
  for (const o of outcomes) {
    if (o.code === 200) {
      assert.equal(final.get(o.token), 'confirmed', `${o.token} was told confirmed`);
    } else {
      assert.equal(o.code, 409, JSON.stringify(o.body));
      assert.equal(o.body.error.code, 'reservation_expired');
      assert.equal(final.get(o.token), 'expired', `${o.token} was told expired`);
    }
  }
  const confirmed = outcomes.filter((o) => o.code === 200).length;
  assert.ok(confirmed > 0 && confirmed < capacity, `both outcomes happened (${confirmed} of ${capacity} confirmed)`);
  const { rows: [stock] } = await h.ctx.db.query<{ q: number }>('SELECT quantity_available AS q FROM ticket_types WHERE id = $1', [tt]);
  assert.equal(stock!.q, capacity - confirmed, 'expired holds returned their stock, confirmed ones kept it');
  await assertStockInvariants(h.ctx.db);
  const line = await assertLineInvariants(h.ctx, tt);
  await assertStatusesAgree(h.ctx, tt, line);
});
