// Which sales are over, for the removal of their lines' Redis keys (src/engine/retention.ts).
import type { Queryable } from './pool.ts';

/**
 * Stamps when each sale was first seen over, and clears the stamp of one that is not over any more
 * (capacity added). Over: its event has started, or nothing is left and no hold can come back.
 * Only rows whose state changed are written.
 */
export async function markSalesOver(q: Queryable): Promise<void> {
  await q.query(
    `UPDATE ticket_types t SET sale_over_at = CASE WHEN s.over THEN now() END
     FROM (SELECT t.id, e.starts_at <= now()
                  OR (t.quantity_available = 0 AND NOT EXISTS (
                        SELECT 1 FROM reservations r WHERE r.ticket_type_id = t.id AND r.status = 'reserved')) AS over
           FROM ticket_types t JOIN events e ON e.id = t.event_id) s
     WHERE t.id = s.id AND (t.sale_over_at IS NULL) = s.over`,
  );
}

/** Ticket types whose sale has been over for at least `seconds`. */
export async function salesOverFor(q: Queryable, seconds: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    'SELECT id FROM ticket_types WHERE sale_over_at <= now() - make_interval(secs => $1) ORDER BY id',
    [seconds],
  );
  return rows.map((r) => r.id);
}
