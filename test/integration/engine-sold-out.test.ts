// Issue 3 and I6: buyers wait while a hold may still come back, and learn sold_out once none can.
// The head of the line gets a hold if it fits, is told sold_out if it can never fit (quantity >
// available + held), and otherwise waits; a buyer told sold_out does not block those behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchReport } from '../../src/engine/processor.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

let h: Harness;
let app: Awaited<ReturnType<Harness['app']>>;
const batches: BatchReport[] = [];
before(async () => {
  h = await createHarness({ JOIN_LIMIT_PER_IP: '0' });
  await h.engine({ onBatch: (r) => batches.push(r) });
  app = await h.app();
});
after(() => h.close());

async function join(tt: number, user: string, quantity: number): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: user, ticket_type_id: tt, quantity } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().queue_token;
}

const statusOf = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json().status as string;

async function act(action: 'confirm' | 'cancel', token: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: `/reservation/${action}`, payload: { token } });
  assert.equal(res.statusCode, 200, res.body);
}

/** Runs `change`, then waits until the processor has looked at the line because of it. */
async function thenProcessed(change: () => Promise<void>): Promise<void> {
  const seen = batches.length;
  await change();
  await waitFor('a batch after the change', () => batches.length > seen);
}

async function expectStatuses(expected: Record<string, [string, string]>): Promise<void> {
  for (const [name, [token, status]] of Object.entries(expected)) {
    assert.equal(await statusOf(token), status, `buyer ${name}`);
  }
}

test('sold-out.buyers-wait-while-holds-may-return-and-learn-sold-out-once-none-can', { timeout: 30_000 }, async () => {
  const tt = await h.ticketType(5, 4);
  const a = await join(tt, 'a', 3);
  const b = await join(tt, 'b', 2);
  await waitFor('a and b holding', async () => (await statusOf(b)) === 'reserved');

  // Nothing is available, but 5 are held: c and d wait.
  let c = '';
  let d = '';
  await thenProcessed(async () => {
    c = await join(tt, 'c', 1);
    d = await join(tt, 'd', 2);
  });
  await expectStatuses({ a: [a, 'reserved'], b: [b, 'reserved'], c: [c, 'pending'], d: [d, 'pending'] });

  // b gives 2 back: c (1) gets a hold; d (2) does not fit in 1 but may once a or c gives back.
  await thenProcessed(() => act('cancel', b));
  await expectStatuses({ c: [c, 'reserved'], d: [d, 'pending'] });
  const e = await join(tt, 'e', 1);
  const f = await join(tt, 'f', 1);
  await thenProcessed(() => act('confirm', a));
  await expectStatuses({ d: [d, 'pending'], e: [e, 'pending'], f: [f, 'pending'] });

  // c confirms: 1 left, no hold outstanding. d (2) can never fit: sold_out; e (1) behind d fits;
  // f waits on e's hold.
  await act('confirm', c);
  await waitFor('e admitted past d', async () => (await statusOf(e)) === 'reserved');
  await expectStatuses({ d: [d, 'sold_out'], f: [f, 'pending'] });

  // e confirms: nothing left and nothing held. f, and anyone who joins now, is told sold_out.
  await act('confirm', e);
  await waitFor('f told sold_out', async () => (await statusOf(f)) === 'sold_out');
  const g = await join(tt, 'g', 1);
  await waitFor('a late buyer told sold_out', async () => (await statusOf(g)) === 'sold_out');

  await expectStatuses({
    a: [a, 'confirmed'], b: [b, 'cancelled'], c: [c, 'confirmed'], d: [d, 'sold_out'],
    e: [e, 'confirmed'], f: [f, 'sold_out'], g: [g, 'sold_out'],
  });
  const notReserved = await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token: d } });
  assert.equal(notReserved.statusCode, 409);
  assert.equal(notReserved.json().error.code, 'not_reserved');
  const { rows } = await h.ctx.db.query<{ q: number }>('SELECT quantity_available AS q FROM ticket_types WHERE id = $1', [tt]);
  assert.equal(rows[0]!.q, 0);
  await assertStockInvariants(h.ctx.db);
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
});

test('sold-out.a-buyer-asking-more-than-can-ever-be-left-does-not-block-the-line', async () => {
  const tt = await h.ticketType(3, 4);
  const big = await join(tt, 'big', 4);
  const small = await join(tt, 'small', 3);
  await waitFor('the small buyer admitted', async () => (await statusOf(small)) === 'reserved');
  assert.equal(await statusOf(big), 'sold_out', '4 > capacity 3: sold out at once, not waiting');
  await assertStatusesAgree(h.ctx, tt, await assertLineInvariants(h.ctx, tt));
});
