// The per-user cap: a user may hold or have bought at most max_per_order tickets of one ticket
// type in total. Read only for a buyer who joined that line before (src/api/routes/queue.ts), so
// first joins, the hot path of a sale, never wait for PostgreSQL.
import type { Queryable } from './pool.ts';

/** Tickets of the ticket type the user holds now (live holds) or has confirmed. */
export async function userTicketCount(q: Queryable, ticketTypeId: number, userId: string): Promise<number> {
  const { rows } = await q.query<{ tickets: number }>(
    `SELECT coalesce(sum(quantity), 0)::int AS tickets FROM reservations
     WHERE ticket_type_id = $1 AND user_id = $2
       AND (status = 'confirmed' OR (status = 'reserved' AND expires_at > now()))`,
    [ticketTypeId, userId],
  );
  return rows[0]!.tickets;
}
