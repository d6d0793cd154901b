// Issue 3: holds run out after RESERVATION_TTL_SECONDS; their stock returns exactly once, within
// about a second, and goes to the next buyers in line, in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SweepReport } from '../../src/engine/sweeper.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants, readLine } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

let h: Harness;
let app: Awaited<ReturnType<Harness['app']>>;
const sweeps: SweepReport[] = [];
before(async () => {
  h = await createHarness({ RESERVATION_TTL_SECONDS: '2', JOIN_LIMIT_PER_IP: '0' });
  // Two engines: two sweepers race for every expired hold, as two worker processes would.
  await h.engine({ onSweep: (r) => sweeps.push(r) });
  await h.engine({ onSweep: (r) => sweeps.push(r) }, h.peer());
  app = await h.app();
});
after(() => h.close());

async function holdsOf(tt: number) {
  const { rows } = await h.ctx.db.query<{ token: string; status: string; created_at: Date; expires_at: Date }>(
    'SELECT token, status, created_at, expires_at FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
  return rows;
}

test('expiry.unconfirmed-holds-expire-and-stock-goes-to-the-next-buyers-in-order', { timeout: 60_000 }, async () => {
  const capacity = 10;
  const tt = await h.ticketType(capacity);
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: `buyer-${i}`, ticket_type_id: tt } });
    assert.equal(res.statusCode, 202, res.body);
    tokens.push(res.json().queue_token);
  }
  const status = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json();

  // Wave 1: buyers 0-9 hold; 10-19 wait, in order.
  await waitFor('first ten holds', async () => (await holdsOf(tt)).length === 10);
  assert.deepEqual((await holdsOf(tt)).map((r) => r.token), tokens.slice(0, 10));
  assert.deepEqual(await Promise.all(tokens.slice(10, 13).map(async (t) => (await status(t)).position)), [1, 2, 3]);
  for (const token of tokens.slice(0, 3)) {
    const res = await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token } });
    assert.equal(res.statusCode, 200, res.body);
  }

  // Wave 2: 3-9 expire; their 7 tickets go to buyers 10-16, within about a second of the expiry.
  await waitFor('seven holds given on', async () => (await holdsOf(tt)).length === 17);
  let rows = await holdsOf(tt);
  assert.deepEqual(rows.map((r) => r.token), tokens.slice(0, 17), 'returned stock goes to the next buyers, in join order');
  assert.deepEqual(rows.slice(0, 10).map((r) => r.status), [...Array(3).fill('confirmed'), ...Array(7).fill('expired')]);
  const lag = rows[10]!.created_at.getTime() - rows[9]!.expires_at.getTime();
  assert.ok(lag < 2_000, `stock came back ${lag} ms after the holds ran out`);
  assert.equal((await status(tokens[3]!)).status, 'expired');
  assert.equal((await status(tokens[10]!)).status, 'reserved');
  assert.equal((await status(tokens[17]!)).position, 1, 'buyer 17 is now first in line');
  const late = await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token: tokens[3] } });
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().error.code, 'reservation_expired');
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt);

  // Wave 3: 10-16 expire; buyers 17-19 get three of the seven; then theirs expire too.
  await waitFor('every unconfirmed hold expired', async () => (await holdsOf(tt)).filter((r) => r.status === 'expired').length === 17, { timeoutMs: 20_000 });
  rows = await holdsOf(tt);
  assert.deepEqual(rows.map((r) => r.token), tokens, 'every buyer got a hold, in join order');
  const { rows: [stock] } = await h.ctx.db.query<{ q: number }>('SELECT quantity_available AS q FROM ticket_types WHERE id = $1', [tt]);
  assert.equal(stock!.q, capacity - 3, 'every expired hold returned its stock, once');
  assert.equal(sweeps.reduce((n, s) => n + s.released, 0), 17, 'each hold was released by exactly one sweep');
  await assertStockInvariants(h.ctx.db);
  const line = await assertLineInvariants(h.ctx, tt);
  await assertStatusesAgree(h.ctx, tt, line);
  assert.equal((await readLine(h.ctx, tt)).queue.length, 0);
});
