// Many lines woken at once (a worker's start, a Redis reconnect, a rush over many ticket types):
// the processor runs a few at a time, and each line's turn comes; new ticket types created in a
// burst cost one look, not one each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunReport } from '../../src/engine/processor.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStockInvariants, readLine } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

const LINES = 300;
const HOT_LINES = 10;
const HOT_BUYERS = 1_000;

let h: Harness;
before(async () => {
  // Small batches: the hot lines take many rounds each, and must hand their places on meanwhile.
  h = await createHarness({ JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', PROCESSOR_BATCH_SIZE: '8' });
});
after(() => h.close());

test('processor.hundreds-of-lines-woken-at-once-each-get-their-turn', { timeout: 120_000 }, async () => {
  // Ten lines with a long backlog, there when the worker starts: they take every place at once.
  const hot = await Promise.all(Array.from({ length: HOT_LINES }, () => h.ticketType(HOT_BUYERS, 1)));
  await Promise.all(hot.map(async (tt) => {
    for (let i = 0; i < HOT_BUYERS; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => h.sale.join({ ticketTypeId: tt, userId: `hot-${i + j}`, quantity: 1 })));
    }
  }));
  const runs: RunReport[] = [];
  await h.engine({ onRun: (r) => runs.push(r) });
  // Then three hundred ticket types created in a burst, a buyer in each.
  const cold = await Promise.all(Array.from({ length: LINES }, () => h.ticketType(1, 1)));
  const coldTokens = await Promise.all(cold.map((tt) => h.sale.join({ ticketTypeId: tt, userId: 'cold', quantity: 1 })));

  const served = async (tt: number) => (await readLine(h.ctx, tt)).served;
  await waitFor(`a hold on each of ${LINES} lines`, async () => {
    const { rows } = await h.ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM reservations WHERE token = ANY($1::text[])', [coldTokens.map((j) => j.token)]);
    return rows[0]!.n === LINES;
  }, { timeoutMs: 60_000 });
  await waitFor('every hot line drained', async () => (await Promise.all(hot.map(served))).every((n) => n === HOT_BUYERS), { timeoutMs: 60_000 });
  assert.ok(runs.some((r) => r.stopped === 'yielded'), 'a hot line handed its place on to lines waiting for one');
  for (const tt of [...hot, ...cold.slice(0, 20)]) await assertLineInvariants(h.ctx, tt);
  await assertStockInvariants(h.ctx.db);
});
