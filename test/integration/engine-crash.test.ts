// Issue 3: kill -9 of the worker process that drains a line, at random moments, ten times over,
// each followed by a restart: nobody is lost, stock adds up and holds stay in join order (I1-I4).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitBatch, expireDue } from '../../src/db/holds.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants, readLine } from '../../support/invariants.ts';
import { configEnv, killAll, spawnBoxoffice, startBoxoffice, type BoxofficeProcess } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';

const KILLS = 10;

let h: Harness;
before(async () => {
  // Small batches: a drain is thousands of take -> commit -> settle rounds, and kills land inside them.
  h = await createHarness({ PROCESSOR_BATCH_SIZE: '4' });
});
after(() => h.close());

interface Buyer {
  token: string;
  quantity: number;
}

/** Joins `count` buyers, a thousand at a time (as many as an API process takes on at once). */
async function join(tt: number, count: number, from: number): Promise<Buyer[]> {
  const buyers: Buyer[] = [];
  for (let start = 0; start < count; start += 1_000) {
    buyers.push(...await Promise.all(Array.from({ length: Math.min(1_000, count - start) }, async (_, i) => {
      const quantity = 1 + Math.floor(Math.random() * 3);
      const joined = await h.sale.join({ ticketTypeId: tt, userId: `buyer-${from + start + i}`, quantity });
      return { token: joined.token, quantity };
    })));
  }
  return buyers;
}

test('crash.kill-9-of-draining-worker-ten-times-loses-nobody-and-keeps-order', { timeout: 150_000 }, async (t) => {
  t.after(killAll); // its workers would otherwise admit the next test's line
  const capacity = 40_000;
  const tt = await h.ticketType(capacity, 3);
  const k = h.ctx.keys.line(tt);
  const buyers = await join(tt, 20_000, 0);
  // Batches of 100, so that a kill often lands with one in flight.
  const worker = { role: 'worker', env: { ...configEnv(h.config), PROCESSOR_BATCH_SIZE: '100' } } as const;
  // Two workers, as a deployment runs them: when the one that drains dies, the other takes the
  // line over once the lease runs out, and the dead one is restarted meanwhile. Each is killed
  // within 100 ms of its first progress, so that the line outlasts ten kills.
  const workers: BoxofficeProcess[] = await Promise.all([startBoxoffice(worker), startBoxoffice(worker)]);
  const served = async () => Number(await h.ctx.redis.get(k.served));
  const stock = async () =>
    (await h.ctx.db.query<{ q: number }>('SELECT quantity_available AS q FROM ticket_types WHERE id = $1', [tt])).rows[0]!.q;

  for (let kill = 0; kill < KILLS; kill++) {
    const progress = await served();
    await waitFor(`draining after kill ${kill}`, async () => (await served()) > progress, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, Math.random() * 100));
    const owner = await h.ctx.redis.get(k.lease);
    const victim = workers.find((w) => w.running && owner?.includes(`:${w.pid}:`));
    assert.ok(victim, `kill ${kill + 1}: the lease (${owner}) belongs to a running worker`);
    assert.ok((await stock()) >= 3, `kill ${kill + 1} lands while the line still drains`);
    await victim.kill9();
    buyers.push(...(await join(tt, 20, 100_000 + kill * 20)));
    workers.push(await spawnBoxoffice(worker));
  }

  // The line, in join order, and what the admission rule grants of it with no hold returning.
  const joined = await readLine(h.ctx, tt);
  const bySeq = buyers
    .map((b) => ({ ...b, seq: joined.records.get(b.token)?.seq ?? 0 }))
    .sort((a, b) => a.seq - b.seq);
  assert.ok(bySeq.every((b, i) => b.seq === i + 1), 'every acknowledged join is in the line, seq 1..n');
  let available = capacity;
  const expected: string[] = [];
  for (const b of bySeq) {
    if (b.quantity > available) break; // holds are outstanding: the head waits
    available -= b.quantity;
    expected.push(b.token);
  }

  const rest = await waitFor(`${expected.length} buyers served`, async () => {
    const line = await readLine(h.ctx, tt);
    return line.served === expected.length && line.processing.length === 0 ? line : undefined;
  }, { timeoutMs: 60_000 });
  // A worker killed between taking a batch and settling it leaves the batch to the next one.
  const recoveries = workers
    .flatMap((w) => w.lines)
    .filter((l) => l.includes('"batch admitted"') && l.includes('"recovery":true')).length;
  assert.deepEqual(rest.holds.map((hold) => hold.token), expected, 'holds are the greedy prefix of the line, in join order');
  assert.equal(await stock(), available, 'stock taken exactly once per hold');
  await assertStockInvariants(h.ctx.db);
  const line = await assertLineInvariants(h.ctx, tt);
  await assertStatusesAgree(h.ctx, tt, line);
  assert.ok(recoveries > 0, `some kill landed with a batch in flight, and its batch was recovered (${recoveries} times)`);
});

test('crash.between-commit-and-settle-replays-the-committed-batch', async () => {
  const tt = await h.ticketType(5, 10);
  const { lines, db } = h.ctx;
  const tokens: string[] = [];
  for (const [i, quantity] of [4, 6, 1, 1, 1].entries()) {
    tokens.push((await h.sale.join({ ticketTypeId: tt, userId: `crash-${i}`, quantity })).token);
  }
  const [t1, t2, t3, t4, t5] = tokens as [string, string, string, string, string];

  // A processor takes the five, commits its decision (t1 and t3 held, t2 sold out, t4 waits), and
  // dies before settling in Redis. Its lease runs out 100 ms later.
  const epoch = (await lines.lease(tt, 'doomed', 100))!;
  const taken = await lines.take(tt, 'doomed', 10, 100);
  if (taken.kind !== 'batch') assert.fail(`the doomed processor found the line ${taken.kind}`);
  const committed = await db.withTransaction((c) => admitBatch(c, tt, epoch, taken.candidates, 60, false));
  assert.deepEqual(committed?.granted.map((c) => c.token), [t1, t3]);
  assert.deepEqual(committed?.soldOut.map((c) => c.token), [t2]);
  // Meanwhile t1's hold runs out and the sweeper returns its 4 tickets.
  await db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE token = $1`, [t1]);
  const swept = await expireDue(db, 10);
  await lines.endHolds(tt, 'expired', swept.map((e) => e.token));
  await new Promise((r) => setTimeout(r, 1_100)); // a fresh batch now would give later expiries

  await h.engine();
  await waitFor('all five served', async () => (await readLine(h.ctx, tt)).served === 5);
  const line = await assertLineInvariants(h.ctx, tt);
  assert.deepEqual(line.holds.map((hold) => [hold.token, hold.status]),
    [[t1, 'expired'], [t3, 'reserved'], [t4, 'reserved'], [t5, 'reserved']]);
  assert.equal(line.records.get(t2)?.state, 'S', 't2 stays sold out, as committed');
  assert.equal(line.records.get(t1)?.state, 'E', 't1 ended before its batch settled: never shown as held');
  assert.equal(line.holds[1]!.expires_at.getTime(), committed!.expiresAt.getTime(), 't3 keeps the expiry committed for it');
  await assertStatusesAgree(h.ctx, tt, line);
  await assertStockInvariants(db);
});
