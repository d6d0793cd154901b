// Rebuilding an interrupted batch's decision from its committed rows (replayCommitted in
// src/db/holds.ts): no stock is taken twice, and every buyer gets the answer that was committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayCommitted, type CommittedDecision } from '../../src/db/holds.ts';

const buyer = (token: string, quantity = 1) => ({ token, userId: `u-${token}`, quantity });
const row = (token: string, status: CommittedDecision['status'], at = 10_000): CommittedDecision =>
  ({ token, status, expires_at: status === 'sold_out' ? null : new Date(at) });

test('replay.holds-are-grants-exits-are-sold-out-the-rest-wait', () => {
  const candidates = [buyer('a'), buyer('b', 4), buyer('c'), buyer('d'), buyer('e')];
  const outcome = replayCommitted(candidates, [row('a', 'reserved'), row('b', 'sold_out'), row('c', 'reserved')]);
  assert.deepEqual(outcome.granted.map((c) => c.token), ['a', 'c']);
  assert.deepEqual(outcome.soldOut.map((c) => c.token), ['b']);
  assert.deepEqual(outcome.waiting.map((c) => c.token), ['d', 'e']);
  assert.equal(outcome.replay, true);
  assert.deepEqual(outcome.ended, []);
});

test('replay.holds-keep-their-committed-expiry-and-ended-ones-are-reported', () => {
  const outcome = replayCommitted([buyer('a'), buyer('b')], [row('a', 'expired', 5_000), row('b', 'confirmed', 5_000)]);
  assert.equal(outcome.expiresAt.getTime(), 5_000);
  assert.deepEqual(outcome.ended, [{ token: 'a', status: 'expired' }, { token: 'b', status: 'confirmed' }]);
  assert.deepEqual(outcome.waiting, []);
});

test('replay.a-batch-that-only-told-buyers-sold-out', () => {
  const outcome = replayCommitted([buyer('a', 3), buyer('b', 3), buyer('c')], [row('a', 'sold_out'), row('b', 'sold_out')]);
  assert.deepEqual(outcome.soldOut.map((c) => c.token), ['a', 'b']);
  assert.deepEqual(outcome.granted, []);
  assert.deepEqual(outcome.waiting.map((c) => c.token), ['c']);
});

test('replay.a-batch-committed-before-exits-were-recorded-reads-gaps-as-sold-out', () => {
  const outcome = replayCommitted([buyer('a'), buyer('b', 4), buyer('c')], [row('a', 'reserved'), row('c', 'reserved')]);
  assert.deepEqual(outcome.soldOut.map((c) => c.token), ['b']);
});

test('replay.two-batches-committed-one-after-the-other-keep-each-holds-end', () => {
  const outcome = replayCommitted([buyer('a'), buyer('b'), buyer('c')], [row('a', 'reserved', 5_000), row('b', 'reserved', 5_040)]);
  assert.deepEqual([...outcome.holdEnds!].map(([token, end]) => [token, end.getTime()]), [['a', 5_000], ['b', 5_040]]);
  assert.deepEqual(outcome.waiting.map((c) => c.token), ['c']);
});
