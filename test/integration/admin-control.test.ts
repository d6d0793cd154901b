// Pausing and resuming admission for a ticket type (issue 7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { join, post, stats, status, waitForStatus } from '../helpers/sale.ts';
import type { Engine } from '../../src/engine/index.ts';
import type { BatchReport, RunReport } from '../../src/engine/processor.ts';
import { waitFor } from '../../support/wait.ts';

describe('pause and resume admission', () => {
  let h: Harness;
  let app: Awaited<ReturnType<Harness['app']>>;
  let engine: Engine;
  let onBatch: (r: BatchReport) => void = () => undefined;
  const runs: RunReport[] = [];
  /** The first run of the line reported from `runs[from]` on: the processor has looked at it and stopped. */
  const runAfter = (tt: number, from: number) =>
    waitFor(`a processor run of ticket type ${tt}`, () => runs.slice(from).find((r) => r.ticketTypeId === tt), { timeoutMs: 10_000 });
  before(async () => {
    h = await createHarness({ PROCESSOR_BATCH_SIZE: '2' });
    app = await h.app();
    engine = await h.engine({ onBatch: (r) => onBatch(r), onRun: (r) => runs.push(r) });
  });
  after(() => h.close());

  test('pause.paused-line-waits-and-resume-admits-in-join-order', async () => {
    const tt = await h.ticketType(10);
    const paused = await post(app, `/admin/ticket-types/${tt}/pause`);
    assert.equal(paused.statusCode, 200, paused.body);
    assert.deepEqual(paused.json(), { ticket_type_id: tt, paused: true });
    assert.equal((await stats(app)).get(tt)!.paused, true);

    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push(await join(app, tt, `paused-${i}`));
    // Nobody may be admitted while paused: the processor looks at the line once more and leaves
    // it alone. The pause never expires, so no later run can do otherwise.
    const seen = runs.length;
    engine.processor.wake(tt);
    assert.equal((await runAfter(tt, seen)).stopped, 'paused');
    for (const token of tokens) assert.equal(await status(app, token), 'pending');
    assert.equal((await stats(app)).get(tt)!.admitted, 0);
    assert.equal((await stats(app)).get(tt)!.waiting, 3);

    const resumed = await post(app, `/admin/ticket-types/${tt}/resume`);
    assert.deepEqual(resumed.json(), { ticket_type_id: tt, paused: false });
    for (const token of tokens) await waitForStatus(app, token, 'reserved');
    const { rows } = await h.ctx.db.query<{ token: string }>(
      'SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
    assert.deepEqual(rows.map((r) => r.token), tokens, 'I3: holds granted in join order after resume');
    const after = (await stats(app)).get(tt)!;
    assert.equal(after.paused, false);
    assert.equal(after.admitted, 3);
    await assertStockInvariants(h.ctx.db);
  });

  test('pause.processor-mid-drain-stops-after-the-batches-in-flight', async () => {
    const tt = await h.ticketType(10);
    // Joined while paused, so that the first drain after resume finds all six waiting.
    await post(app, `/admin/ticket-types/${tt}/pause`);
    const tokens = [];
    for (let i = 0; i < 6; i++) tokens.push(await join(app, tt, `mid-${i}`));
    let batches = 0;
    let runsBeforeFirstBatch = 0;
    // Paused again from inside the first batch's report. By then the processor has taken the
    // second batch (while the first committed) and is committing it: those two are in flight and
    // go through; its next take, which goes after the pause on the same Redis connection, finds
    // the lease parked.
    onBatch = (r) => {
      if (r.ticketTypeId !== tt) return;
      batches++;
      if (batches > 1) return;
      runsBeforeFirstBatch = runs.length;
      void h.ctx.lines.pause(tt);
    };
    await post(app, `/admin/ticket-types/${tt}/resume`);
    await waitFor('first batch', () => batches >= 1, { timeoutMs: 10_000 });
    assert.equal((await runAfter(tt, runsBeforeFirstBatch)).stopped, 'lease_lost');
    const s = (await stats(app)).get(tt)!;
    assert.equal(batches, 2, 'the batch settling and the batch committing at the pause, and no other');
    assert.equal(s.admitted, 4, 'two batches of PROCESSOR_BATCH_SIZE=2 were admitted');
    assert.equal(s.waiting, 2);
    assert.deepEqual(await Promise.all(tokens.map((t) => status(app, t))),
      ['reserved', 'reserved', 'reserved', 'reserved', 'pending', 'pending']);

    await post(app, `/admin/ticket-types/${tt}/resume`);
    for (const token of tokens) await waitForStatus(app, token, 'reserved');
    await assertStockInvariants(h.ctx.db);
  });

  test('pause.lease-scripts-refuse-a-paused-line', async () => {
    const tt = await h.ticketType(1);
    const { lines } = h.ctx;
    assert.ok(await lines.lease(tt, 'worker-a', 10_000));
    await lines.pause(tt);
    assert.deepEqual(await lines.take(tt, 'worker-a', 10, 10_000), { kind: 'lost' }, 'the holder at pause time fails its next take');
    assert.equal(await lines.unlease(tt, 'worker-a'), false, 'its release leaves the pause in place');
    assert.equal(await lines.lease(tt, 'worker-b', 10_000), undefined, 'no other processor can take the line');
    assert.equal(await lines.leaseRemainingMs(tt), -1, 'the pause never expires by itself');
    await post(app, `/admin/ticket-types/${tt}/resume`);
    // The running engine may take the line at once; what matters is that the pause is gone.
    assert.equal((await lines.progress([tt]))[0]!.paused, false, 'resume lifts the pause');
  });

  test('pause.repeat-is-idempotent-and-resume-of-running-line-is-harmless', async () => {
    const tt = await h.ticketType(1);
    for (let i = 0; i < 2; i++) assert.deepEqual((await post(app, `/admin/ticket-types/${tt}/pause`)).json(), { ticket_type_id: tt, paused: true });
    for (let i = 0; i < 2; i++) assert.deepEqual((await post(app, `/admin/ticket-types/${tt}/resume`)).json(), { ticket_type_id: tt, paused: false });
    assert.equal((await stats(app)).get(tt)!.paused, false);
  });

  test('pause.unknown-malformed-or-unauthorised', async () => {
    const unknown = await post(app, '/admin/ticket-types/987654/pause');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'ticket_type_not_found');
    assert.equal((await post(app, '/admin/ticket-types/abc/resume')).statusCode, 400);
    const tt = await h.ticketType(1);
    const anonymous = await app.inject({ method: 'POST', url: `/admin/ticket-types/${tt}/pause` });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, 'unauthorized');
    assert.equal((await stats(app)).get(tt)!.paused, false, 'a refused pause changes nothing');
  });
});
