// Which sales are over, for the removal of their lines' Redis keys (src/engine/retention.ts).
import { recordSaleEvents } from './outbox.ts';
import type { Db, Queryable } from './pool.ts';

/**
 * Stamps when each sale was first seen over, and clears the stamp of one that is not over any more
 * (capacity added). Over: its event has started, it was closed (its end, or the organiser), or
 * nothing is left and no hold can come back. Only rows whose state changed are written, each with
 * its webhook event in the same transaction: sale.closed (reason event_started or sold_out; a
 * closed sale said so when it closed) or sale.opened (reason reopened).
 */
export async function markSalesOver(db: Db): Promise<void> {
  await db.withTransaction(async (client) => {
    const { rows } = await client.query<{ id: number; over: boolean; started: boolean; closed: boolean }>(
      `UPDATE ticket_types t SET sale_over_at = CASE WHEN s.over THEN now() END
       FROM (SELECT t.id, e.starts_at <= now() AS started, t.closed_at IS NOT NULL AS closed,
                    e.starts_at <= now() OR t.closed_at IS NOT NULL
                    OR (t.quantity_available = 0 AND NOT EXISTS (
                          SELECT 1 FROM reservations r WHERE r.ticket_type_id = t.id AND r.status = 'reserved')) AS over
             FROM ticket_types t JOIN events e ON e.id = t.event_id) s
       WHERE t.id = s.id AND (t.sale_over_at IS NULL) = s.over
       RETURNING t.id, s.over, s.started, s.closed`,
    );
    await recordSaleEvents(client, 'sale.closed', rows.filter((r) => r.over && !r.closed)
      .map((r) => ({ ticketTypeId: r.id, reason: r.started ? 'event_started' : 'sold_out' })));
    await recordSaleEvents(client, 'sale.opened', rows.filter((r) => !r.over).map((r) => ({ ticketTypeId: r.id, reason: 'reopened' })));
  });
}

/** Ticket types whose sale has been over for at least `seconds`. */
export async function salesOverFor(q: Queryable, seconds: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    'SELECT id FROM ticket_types WHERE sale_over_at <= now() - make_interval(secs => $1) ORDER BY id',
    [seconds],
  );
  return rows.map((r) => r.id);
}
