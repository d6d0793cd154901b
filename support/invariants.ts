// DESIGN.md's invariants, read off PostgreSQL and Redis after a test or the soak: a failure names
// the broken one.
import assert from 'node:assert/strict';
import type { Context } from '../src/context.ts';
import type { Db } from '../src/db/pool.ts';
import { saleFigures } from '../src/db/sale-figures.ts';
import { parseRecord, type TokenRecord } from '../src/domain/record.ts';
import type { StatusReport } from '../src/domain/status.ts';
import { Sale } from '../src/sale/sale.ts';
import { execPipeline } from '../src/redis/client.ts';

/**
 * I1 (stock adds up), I2 (a booking for each confirmed hold and no other, each confirmed before its
 * hold ran out) and the per-user cap (no user holds or bought more than max_per_order tickets of a
 * ticket type). Stock below 0 and two bookings of one hold are what the schema's CHECK and UNIQUE
 * refuse (migrations/0001_init.sql): checks of those could never fail, so there are none here.
 */
export async function assertStockInvariants(db: Db): Promise<void> {
  for (const t of await saleFigures(db, 0)) {
    assert.equal(
      t.quantity_available + t.held + t.confirmed,
      t.capacity,
      `I1: ticket type ${t.id}: available ${t.quantity_available} + held ${t.held} + confirmed ${t.confirmed} != capacity ${t.capacity}`,
    );
  }
  const { rows: [holds] } = await db.query<{ unbooked: number; late: number }>(`
    SELECT count(*) FILTER (WHERE (r.status = 'confirmed') <> (b.id IS NOT NULL))::int AS unbooked,
           count(*) FILTER (WHERE r.status = 'confirmed' AND NOT coalesce(r.confirmed_at < r.expires_at, false))::int AS late
    FROM reservations r LEFT JOIN ticket_bookings b ON b.reservation_id = r.id`);
  assert.equal(holds!.unbooked, 0, 'I2: every confirmed hold has a booking, and no other hold has one');
  assert.equal(holds!.late, 0, 'I2: every confirmed hold was confirmed before it ran out');
  const { rows: over } = await db.query<{ ticket_type_id: number; user_id: string; tickets: number; max_per_order: number }>(`
    SELECT r.ticket_type_id, r.user_id, sum(r.quantity)::int AS tickets, t.max_per_order
    FROM reservations r JOIN ticket_types t ON t.id = r.ticket_type_id
    WHERE r.status = 'confirmed' OR (r.status = 'reserved' AND r.expires_at > now())
    GROUP BY r.ticket_type_id, r.user_id, t.max_per_order HAVING sum(r.quantity) > t.max_per_order`);
  assert.deepEqual(over, [], 'per-user cap: these users hold or bought more than max_per_order tickets');
}

/** I3: within a ticket type, holds were granted in join order (reservation ids follow line seq). */
export function assertJoinOrder(grantedInJoinOrder: string[], grantedById: string[]): void {
  assert.deepEqual(grantedById, grantedInJoinOrder, 'I3: holds granted out of join order');
}

export interface LineSnapshot {
  records: Map<string, TokenRecord>;
  queue: string[];
  processing: string[];
  served: number;
  /** The line's hold rows in the order they were granted (reservation id). */
  holds: { id: number; token: string; quantity: number; status: string; expires_at: Date }[];
}

/** Everything Redis and PostgreSQL know about one line, read for checks (tests and the soak only). */
export async function readLine(ctx: Context, ticketTypeId: number): Promise<LineSnapshot> {
  const line = await ctx.lines.snapshot(ticketTypeId);
  const { rows } = await ctx.db.query<LineSnapshot['holds'][number]>(
    'SELECT id, token, quantity, status, expires_at FROM reservations WHERE ticket_type_id = $1 ORDER BY id',
    [ticketTypeId],
  );
  return { ...line, holds: rows };
}

/** A line's counters and lengths in one atomic read: a batch moves between `queue` and `processing`. */
export async function lineCounters(ctx: Context, ticketTypeId: number) {
  const k = ctx.keys.line(ticketTypeId);
  const replies = await execPipeline(ctx.redis.multi().get(k.seq).get(k.served).llen(k.queue).llen(k.processing));
  const [seq, served, queued, processing] = replies.map(Number) as [number, number, number, number];
  return { seq, served, queued, processing };
}

/**
 * The line of one ticket type at rest (no batch in flight) against its hold rows:
 * I2: every waiting token is in the line exactly once and no token that left it is still there;
 *     every token marked as holding has a hold row and every hold row belongs to a token that left
 *     the line (or cancelled while its admission was in flight).
 * I3: holds were granted in join order (reservation ids follow line seq), and nobody still waits
 *     ahead of a buyer who got a hold.
 * I6: a buyer told sold_out could never have fitted later: every hold granted to a buyer behind
 *     them is for fewer tickets (available + held never grows). Unless `stockAdded`: the organiser
 *     added capacity after someone was told sold_out (PATCH /admin/ticket-types/:id), and later
 *     buyers may then get what that buyer could not; that buyer stays told.
 */
export async function assertLineInvariants(ctx: Context, ticketTypeId: number, { stockAdded = false } = {}): Promise<LineSnapshot> {
  const line = await readLine(ctx, ticketTypeId);
  const inLine = [...line.queue, ...line.processing];
  assert.equal(new Set(inLine).size, inLine.length, 'I2: a token is in the line twice');
  const inLineSet = new Set(inLine);
  for (const [token, rec] of line.records) {
    if (rec.state === 'P') assert.ok(inLineSet.has(token), `I2: pending token ${token} (seq ${rec.seq}) is lost: not in the line`);
    if (rec.state === 'R' || rec.state === 'E' || rec.state === 'S') {
      assert.ok(!inLineSet.has(token), `I2: token ${token} left the line (${rec.state}) but is still in it`);
    }
  }
  const holdsByToken = new Map(line.holds.map((h) => [h.token, h]));
  for (const [token, rec] of line.records) {
    const hold = holdsByToken.get(token);
    if (rec.state === 'R') {
      assert.ok(hold, `I2: token ${token} is marked as holding but has no hold row`);
      assert.equal(rec.holdEndsMs, hold.expires_at.getTime(), `token ${token}: its record and its hold row end at different times`);
    }
    if (rec.state === 'E') assert.ok(hold && hold.status !== 'reserved', `token ${token} is marked as ended but its hold is ${hold?.status}`);
  }
  let lastSeq = 0;
  let lastToken = '';
  for (const hold of line.holds) {
    const rec = line.records.get(hold.token);
    assert.ok(rec, `hold ${hold.id} belongs to no token of the line`);
    // A hold granted while its buyer was cancelling in line is revoked, or ran out first when the
    // processor that was to revoke it died; it is never confirmed.
    assert.ok(rec.state === 'R' || rec.state === 'E' || (rec.state === 'C' && (hold.status === 'cancelled' || hold.status === 'expired')),
      `I2: hold ${hold.id} (${hold.status}) belongs to token ${hold.token} in state ${rec.state}`);
    assert.ok(rec.seq > lastSeq, `I3: hold ${hold.id} (seq ${rec.seq}) granted after ${lastToken} (seq ${lastSeq})`);
    assert.equal(rec.quantity, hold.quantity, `hold ${hold.id} is for another quantity than its buyer asked`);
    lastSeq = rec.seq;
    lastToken = hold.token;
  }
  for (const [token, rec] of line.records) {
    if (rec.state === 'P') assert.ok(rec.seq > lastSeq, `I3: ${token} (seq ${rec.seq}) still waits behind a hold granted to seq ${lastSeq}`);
    if (rec.state !== 'S' || stockAdded) continue;
    for (const hold of line.holds) {
      const later = line.records.get(hold.token)!;
      if (later.seq > rec.seq) {
        assert.ok(hold.quantity < rec.quantity,
          `I6: ${token} was told sold_out for ${rec.quantity} but a later buyer (seq ${later.seq}) got ${hold.quantity}`);
      }
    }
  }
  return line;
}

/** What the status route must say of a token, from the line's snapshot (PostgreSQL for holds). */
export function expectedStatus(line: LineSnapshot, token: string): Pick<StatusReport, 'status' | 'position' | 'expires_at'> | undefined {
  const rec = line.records.get(token);
  const hold = line.holds.find((h) => h.token === token);
  if (hold) {
    if (rec?.state === 'C') return { status: 'cancelled' };
    // A hold past its expiry is expired for buyers even before the sweeper has run.
    const overdue = hold.status === 'reserved' && hold.expires_at.getTime() <= Date.now();
    if (hold.status === 'reserved' && !overdue) return { status: 'reserved', expires_at: hold.expires_at.toISOString() };
    return { status: overdue ? 'expired' : (hold.status as StatusReport['status']) };
  }
  if (!rec) return undefined;
  if (rec.state === 'P') return { status: 'pending', position: Math.max(1, rec.seq - line.served) };
  if (rec.state === 'S') return { status: 'sold_out' };
  if (rec.state === 'C') return { status: 'cancelled' };
  return undefined; // held or ended without a hold row: assertLineInvariants reports it
}

/** Every token of the line: the status route (Redis fast path included) agrees with the truth. */
export async function assertStatusesAgree(ctx: Context, ticketTypeId: number, line?: LineSnapshot): Promise<void> {
  line ??= await readLine(ctx, ticketTypeId);
  const tokens = [...line.records.keys()];
  const sale = await Sale.open(ctx);
  const views = await Promise.all(tokens.map((t) => sale.status(t)));
  tokens.forEach((token, i) => {
    const expected = expectedStatus(line, token)!;
    const view = views[i];
    assert.ok(view, `status of ${token}: unknown token`);
    assert.equal(view.status, expected.status, `status of ${token}`);
    if (expected.position !== undefined) assert.equal(view.position, expected.position, `position of ${token}`);
    if (expected.expires_at !== undefined) assert.equal(view.expires_at, expected.expires_at, `expiry of ${token}'s hold`);
  });
}
