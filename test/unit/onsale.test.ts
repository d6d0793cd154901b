// A sale's lifecycle rules and the draw's arithmetic, without services (issue 13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { joinWindow, saleState, scheduleProblem, type SaleTimes } from '../../src/domain/onsale.ts';
import { draw, drawCommitment, entryId } from '../../src/domain/draw.ts';

const T = 1_000_000;
const scheduled: SaleTimes = { prequeueOpensMs: T, saleStartsMs: T + 100, saleEndsMs: T + 200, closed: false };

test('onsale.state-follows-the-times', () => {
  assert.equal(saleState(scheduled, 5, T - 1), 'scheduled');
  assert.equal(saleState(scheduled, 5, T), 'prequeue');
  assert.equal(saleState(scheduled, 5, T + 100), 'on_sale');
  assert.equal(saleState(scheduled, 0, T + 100), 'sold_out');
  assert.equal(saleState(scheduled, 5, T + 200), 'closed');
  assert.equal(saleState({ ...scheduled, closed: true }, 5, T), 'closed');
  assert.equal(saleState({ closed: false }, 5, 0), 'on_sale', 'no times: on sale from its creation, as before');
  assert.equal(saleState({ saleStartsMs: T, closed: false }, 5, T - 1), 'scheduled', 'no pre-queue: scheduled until the opening');
});

test('onsale.join-window-refuses-before-and-after-and-names-the-opening', () => {
  assert.deepEqual(joinWindow(scheduled, T - 1), { kind: 'not_open', opensMs: T });
  assert.deepEqual(joinWindow(scheduled, T + 50), { kind: 'prequeue', saleStartsMs: T + 100 });
  // Past the opening the join script decides on Redis's clock, so that one clock seals the pre-queue.
  assert.deepEqual(joinWindow(scheduled, T + 150), { kind: 'prequeue', saleStartsMs: T + 100 });
  assert.deepEqual(joinWindow(scheduled, T + 200), { kind: 'closed' });
  assert.deepEqual(joinWindow({ saleStartsMs: T, closed: false }, T), { kind: 'line' });
});

test('onsale.schedule-problems-are-named', () => {
  assert.equal(scheduleProblem({ prequeueOpensMs: T, saleStartsMs: T + 1, saleEndsMs: T + 2 }), undefined);
  assert.match(scheduleProblem({ prequeueOpensMs: T })!, /needs sale_starts_at/);
  assert.match(scheduleProblem({ prequeueOpensMs: T, saleStartsMs: T })!, /before sale_starts_at/);
  assert.match(scheduleProblem({ saleStartsMs: T, saleEndsMs: T })!, /after sale_starts_at/);
});

test('draw.follows-docs-fairness-step-by-step', async () => {
  const secret = Buffer.alloc(32, 7);
  const ids = ['ff'.repeat(16), '00'.repeat(16), '7a'.repeat(16)];
  const result = await draw(secret, ids);
  assert.equal(drawCommitment(secret), createHash('sha256').update(secret).digest('hex'));
  assert.equal(result.entriesDigest, createHash('sha256').update(`${'00'.repeat(16)}\n${'7a'.repeat(16)}\n${'ff'.repeat(16)}`).digest('hex'));
  const seed = createHmac('sha256', secret).update(result.entriesDigest).digest();
  assert.equal(result.seed, seed.toString('hex'));
  const byKey = [...ids].sort((a, b) => createHmac('sha256', seed).update(a).digest('hex').localeCompare(createHmac('sha256', seed).update(b).digest('hex')));
  assert.deepEqual(result.order, byKey);
  assert.deepEqual((await draw(secret, [...ids].reverse())).order, byKey, 'the order does not depend on the order the entries came in');
});

test('draw.entry-ids-are-128-bit-hex-and-not-the-token', () => {
  const token = 'AAAAAAAAAAAAAAAAAAAAAA.1';
  const id = entryId(Buffer.alloc(32, 1), token);
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.notEqual(entryId(Buffer.alloc(32, 2), token), id, 'another secret, another id');
  assert.equal(entryId(Buffer.alloc(32, 1), token), id, 'derived, so every process agrees');
});
