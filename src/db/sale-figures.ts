// The organiser's figures per ticket type, read off the hold rows: one statement for the admin
// stats and the Prometheus scrape alike, so both always agree.
import type { SaleFigures } from '../domain/figures.ts';
import type { Queryable } from './pool.ts';

// A scan of the hold rows per call: fine for a scrape every few seconds up to about a million
// rows; past that, counters kept by the writers would be cheaper.
const SQL = `
  SELECT t.id, t.event_id, t.name, t.capacity, t.quantity_available,
         coalesce(sum(r.quantity) FILTER (WHERE r.status = 'reserved'), 0)::int AS held,
         coalesce(sum(r.quantity) FILTER (WHERE r.status = 'confirmed'), 0)::int AS confirmed,
         count(r.id)::int AS admitted,
         count(r.id) FILTER (WHERE r.status = 'reserved')::int AS holds_active,
         count(r.id) FILTER (WHERE r.status = 'confirmed')::int AS holds_confirmed,
         count(r.id) FILTER (WHERE r.status = 'expired')::int AS holds_expired,
         count(r.id) FILTER (WHERE r.status = 'cancelled')::int AS holds_cancelled,
         count(r.id) FILTER (WHERE r.status = 'reserved'
                               AND r.expires_at < now() + make_interval(secs => $1))::int AS expiring_soon,
         to_json(min(r.expires_at) FILTER (WHERE r.status = 'reserved')) #>> '{}' AS next_expiry
  FROM ticket_types t LEFT JOIN reservations r ON r.ticket_type_id = t.id
  GROUP BY t.id ORDER BY t.id`;

export async function saleFigures(db: Queryable, expiringWithinSeconds: number): Promise<SaleFigures[]> {
  const { rows } = await db.query<SaleFigures>(SQL, [expiringWithinSeconds]);
  return rows;
}
