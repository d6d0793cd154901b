// DESIGN.md's invariants, read off PostgreSQL after a test: a failure names the broken one.
import assert from 'node:assert/strict';
import type { Db } from '../../src/db/pool.ts';
import { stockByTicketType } from '../../src/db/catalog.ts';

/** I1 (stock adds up, never negative) and I2 (one booking per confirmed hold, none for others). */
export async function assertStockInvariants(db: Db): Promise<void> {
  for (const t of await stockByTicketType(db)) {
    assert.ok(t.quantity_available >= 0, `I1: ticket type ${t.id} has negative stock`);
    assert.equal(
      t.quantity_available + t.held + t.confirmed,
      t.capacity,
      `I1: ticket type ${t.id}: available ${t.quantity_available} + held ${t.held} + confirmed ${t.confirmed} != capacity ${t.capacity}`,
    );
  }
  const { rows } = await db.query<{ bad: number }>(`
    SELECT count(*)::int AS bad FROM reservations r
    LEFT JOIN (SELECT reservation_id, count(*) AS n FROM ticket_bookings GROUP BY 1) b ON b.reservation_id = r.id
    WHERE (r.status = 'confirmed') <> (coalesce(b.n, 0) = 1) OR coalesce(b.n, 0) > 1`);
  assert.equal(rows[0]!.bad, 0, 'I2: every confirmed hold has exactly one booking, and no other hold has any');
}

/** I3: within a ticket type, holds were granted in join order (reservation ids follow line seq). */
export function assertJoinOrder(grantedInJoinOrder: string[], grantedById: string[]): void {
  assert.deepEqual(grantedById, grantedInJoinOrder, 'I3: holds granted out of join order');
}
