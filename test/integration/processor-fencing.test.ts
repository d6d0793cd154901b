import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitBatch } from '../../src/db/holds.ts';
import { newToken } from '../../src/domain/token.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

let h: Harness;
before(async () => (h = await createHarness()));
after(() => h.close());

async function join(ticketTypeId: number, user: string) {
  return (await h.sale.join({ ticketTypeId, userId: user, quantity: 1 })).token;
}

test('fencing.stale-processor-epoch-changes-nothing', async () => {
  const tt = await h.ticketType(10);
  await h.ctx.db.query('UPDATE ticket_types SET processor_epoch = 2 WHERE id = $1', [tt]);
  const token = newToken(tt, 'late');
  const outcome = await h.ctx.db.withTransaction((c) =>
    admitBatch(c, tt, 1, [{ token, userId: 'late', quantity: 1 }], 60, false),
  );
  assert.equal(outcome, undefined);
  const { rows } = await h.ctx.db.query('SELECT quantity_available FROM ticket_types WHERE id = $1', [tt]);
  assert.equal(rows[0]!.quantity_available, 10);
  assert.equal((await h.ctx.db.query('SELECT 1 FROM reservations WHERE token = $1', [token])).rowCount, 0);
});

test('fencing.redis-losing-its-epoch-counter-does-not-stall-the-line', async () => {
  const tt = await h.ticketType(10);
  const k = h.ctx.keys.line(tt);
  await h.ctx.redis.set(k.epoch, 5);
  const engine = await h.engine();
  const first = await join(tt, 'first');
  await waitFor('the first buyer held', async () => (await h.sale.status(first))?.status === 'reserved', { timeoutMs: 5_000 });
  await engine.stop();

  await h.ctx.redis.del(k.epoch); // as after a Redis restart without persistence
  await h.engine();
  const second = await join(tt, 'second');
  await waitFor('the second buyer held after Redis lost its epoch counter', async () => (await h.sale.status(second))?.status === 'reserved', { timeoutMs: 5_000 });
  assert.ok(Number(await h.ctx.redis.get(k.epoch)) > 5);
  await assertStockInvariants(h.ctx.db);
});
