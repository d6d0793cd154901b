// Issue 3: many buyers join at once while three processors (engines on separate connections, as
// three processes would be) compete for the line, and lose its lease at random moments.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchReport } from '../../src/engine/processor.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants, readLine } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

let h: Harness;
before(async () => {
  // 2,000 joins at once, all to be accepted: past the concurrency limit some would be shed.
  h = await createHarness({ JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', PROCESSOR_BATCH_SIZE: '16', MAX_CONCURRENT_REQUESTS: '10000' });
});
after(() => h.close());

interface Buyer {
  token: string;
  seq: number;
  quantity: number;
}

/** DESIGN.md's admission rule applied to the whole line at once, with no hold ever returning. */
function expectedHolds(line: Buyer[], capacity: number): Buyer[] {
  let available = capacity;
  let held = 0;
  const granted: Buyer[] = [];
  for (const b of line) {
    if (b.quantity <= available) {
      available -= b.quantity;
      held += b.quantity;
      granted.push(b);
    } else if (b.quantity <= available + held) {
      break; // the head waits for holds to come back; everyone behind waits too
    }
  }
  return granted;
}

/**
 * Takes the lease away from whoever holds it every few milliseconds and wakes the processors, as
 * if the holder had stalled past its lease: another processor takes the line over, possibly with
 * the holder's batch still in flight. Returns a function that stops it.
 */
function stealLeases(tt: number): () => Promise<number> {
  const { redis, keys } = h.ctx;
  let stealing = true;
  let steals = 0;
  const loop = (async () => {
    while (stealing) {
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 15));
      // A steal whose command times out on a loaded machine is a steal that did not happen.
      try {
        if (await redis.del(keys.line(tt).lease)) steals++;
        await redis.spublish(keys.line(tt).wake, String(tt));
      } catch {
        continue;
      }
    }
  })();
  return async () => {
    stealing = false;
    await loop;
    return steals;
  };
}

test('admission.2000-concurrent-joins-three-processors-grant-exactly-in-join-order', { timeout: 90_000 }, async () => {
  const capacity = 300;
  const tt = await h.ticketType(capacity, 3);
  const batches: BatchReport[][] = [[], [], []];
  for (const reports of batches) await h.engine({ onBatch: (r) => reports.push(r) }, h.peer());
  const app = await h.app();
  const stopStealing = stealLeases(tt);

  // I1 at every instant, not only at rest: one statement reads the stock and the holds from one
  // snapshot, so any difference from the capacity is a moment of oversell or lost stock.
  const drifts = new Set<number>();
  let sampling = true;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await h.ctx.db.query<{ drift: number }>(
        `SELECT t.quantity_available + coalesce(sum(r.quantity) FILTER (WHERE r.status IN ('reserved', 'confirmed')), 0)::int - t.capacity AS drift
         FROM ticket_types t LEFT JOIN reservations r ON r.ticket_type_id = t.id WHERE t.id = $1 GROUP BY t.id`, [tt]);
      if (rows[0]!.drift) drifts.add(rows[0]!.drift);
      samples++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  sampler.catch(() => undefined); // awaited below, where a failed sample fails the test

  const quantities = Array.from({ length: 2_000 }, () => 1 + Math.floor(Math.random() * 3));
  const replies = await Promise.all(quantities.map((quantity, i) =>
    app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: `buyer-${i}`, ticket_type_id: tt, quantity } })));
  for (const r of replies) assert.equal(r.statusCode, 202, r.body);
  const tokens = replies.map((r) => r.json().queue_token as string);
  assert.equal(new Set(tokens).size, tokens.length, 'every join gets its own token');

  const joined = await readLine(h.ctx, tt);
  const line: Buyer[] = tokens.map((token, i) => ({ token, seq: joined.records.get(token)!.seq, quantity: quantities[i]! }));
  line.sort((a, b) => a.seq - b.seq);
  assert.deepEqual(line.map((b) => b.seq), line.map((_, i) => i + 1), 'seq numbers are 1..2000 without gaps');
  const expected = expectedHolds(line, capacity);
  const expectedQuantity = expected.reduce((sum, b) => sum + b.quantity, 0);

  await waitFor(`${expected.length} holds`, async () => (await readLine(h.ctx, tt)).holds.length >= expected.length, { timeoutMs: 60_000 });
  const steals = await stopStealing();
  // At rest: no batch in hand and the head of the line looked at (it waits for stock).
  const settled = await waitFor('the line at rest', async () => {
    const snapshot = await readLine(h.ctx, tt);
    return snapshot.processing.length === 0 && snapshot.served >= expected.length ? snapshot : undefined;
  }, { timeoutMs: 30_000 });
  assert.equal(settled.served, expected.length, 'I2: each buyer who left the line is counted once');
  sampling = false;
  await sampler;

  assert.deepEqual(settled.holds.map((hold) => hold.token), expected.map((b) => b.token), 'holds are the greedy prefix, in join order');
  const { rows } = await h.ctx.db.query<{ q: number }>('SELECT quantity_available AS q FROM ticket_types WHERE id = $1', [tt]);
  assert.equal(rows[0]!.q, capacity - expectedQuantity);
  assert.ok(samples > 0, 'I1 was sampled during admission');
  assert.deepEqual([...drifts], [], 'I1 at every sampled instant: available + held + confirmed = capacity');
  await assertStockInvariants(h.ctx.db);
  const rest = await assertLineInvariants(h.ctx, tt);
  // (a processor's poll may have the head's batch in hand right now)
  assert.equal(rest.queue.length + rest.processing.length, line.length - expected.length, 'everyone else still waits in line');
  await assertStatusesAgree(h.ctx, tt, rest);

  const granted = batches.map((reports) => reports.reduce((sum, r) => sum + r.granted, 0));
  assert.ok(steals > 0, 'the lease changed hands');
  assert.ok(granted.filter((n) => n > 0).length >= 2, `more than one processor granted holds: ${granted} (${steals} leases taken away)`);
});
