// Issue 15: the processor commits batch N+1 in PostgreSQL while batch N settles in Redis, so a
// worker can die with two batches in `processing`, each committed or not. The next processor
// replays what committed, each hold with its own end, and admits the rest in join order (I1-I4).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitBatch } from '../../src/db/holds.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants, readLine } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

const BUYERS = 10;
const CAPACITY = 8;
const BATCH = 4;
const LEASE_MS = 1_000;

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

type Crash = 'both-committed' | 'first-settled-second-committed' | 'second-taken-not-committed';

/**
 * A doomed processor takes batch A (buyers 1-4), commits it, takes batch B (5-8) ahead of A's
 * settle, and dies at `crash`. Returns the line's tokens in join order.
 */
async function doomedDrain(crash: Crash): Promise<{ tt: number; tokens: string[] }> {
  const tt = await h.ticketType(CAPACITY, 4);
  const tokens: string[] = [];
  for (let i = 0; i < BUYERS; i++) tokens.push((await h.sale.join({ ticketTypeId: tt, userId: `${crash}-${i}`, quantity: 1 })).token);
  const { lines, db } = h.ctx;
  const owner = `doomed-${crash}`;
  const epoch = (await lines.lease(tt, owner, LEASE_MS))!;
  const commit = async (batch: Awaited<ReturnType<typeof lines.take>>) => {
    if (batch.kind !== 'batch') assert.fail(`the doomed processor found the line ${batch.kind}`);
    return (await db.withTransaction((c) => admitBatch(c, tt, epoch, batch.candidates, 60, false)))!;
  };

  const a = await lines.take(tt, owner, BATCH, LEASE_MS);
  const committedA = await commit(a);
  const b = await lines.take(tt, owner, BATCH, LEASE_MS, BATCH);
  assert.equal(b.kind, 'batch', 'a take ahead appends the next batch behind the one in flight');
  if (crash === 'second-taken-not-committed') return { tt, tokens };
  if (crash === 'first-settled-second-committed') {
    assert.equal((await lines.settle(tt, epoch, { ...committedA, dropped: 0 })).kind, 'settled');
  }
  const committedB = await commit(b);
  assert.ok(committedB.expiresAt > committedA.expiresAt, 'the two batches\' holds end at different times');
  return { tt, tokens };
}

test('crash.overlapped-batches-replay-what-committed-and-admit-the-rest-in-order', async () => {
  const crashes: Crash[] = ['both-committed', 'first-settled-second-committed', 'second-taken-not-committed'];
  const lines = await Promise.all(crashes.map(doomedDrain));

  // The doomed leases run out; the engine takes every line over and replays what it finds.
  await h.engine();
  for (const [i, { tt, tokens }] of lines.entries()) {
    const crash = crashes[i]!;
    const snapshot = await waitFor(`${crash}: ${CAPACITY} buyers served`, async () => {
      const line = await readLine(h.ctx, tt);
      return line.served === CAPACITY && line.processing.length === 0 ? line : undefined;
    }, { timeoutMs: 15_000 });
    assert.deepEqual(snapshot.holds.map((hold) => hold.token), tokens.slice(0, CAPACITY), `${crash}: holds are the first ${CAPACITY} in join order`);
    assert.deepEqual(snapshot.queue.length, BUYERS - CAPACITY, `${crash}: the rest wait in line for returned stock`);
    // Every record says what its hold row says, end included (the replay keeps each batch's end).
    const line = await assertLineInvariants(h.ctx, tt);
    await assertStatusesAgree(h.ctx, tt, line);
  }
  await assertStockInvariants(h.ctx.db);
});
