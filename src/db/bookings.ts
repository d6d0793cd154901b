// An event's bookings for the organiser: pages for the JSON API, and a stream of all of them for
// the CSV export, in booking order.
import type { Readable } from 'node:stream';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import type { Booking } from '../domain/organiser.ts';
import type { Db, Queryable } from './pool.ts';

const BOOKINGS = `
  SELECT b.id AS booking_id, r.id AS hold_id, r.ticket_type_id, t.name AS ticket_type, r.user_id, r.quantity,
         t.price::text AS unit_price, e.currency, utc_iso(r.confirmed_at) AS confirmed_at
  FROM ticket_bookings b
  JOIN reservations r ON r.id = b.reservation_id
  JOIN ticket_types t ON t.id = r.ticket_type_id
  JOIN events e ON e.id = t.event_id
  WHERE t.event_id = $1 AND b.id > $2
  ORDER BY b.id`;

/** Up to `limit` bookings of an event after booking `after` (0: from the first). */
export async function bookingsPage(q: Queryable, eventId: number, after: number, limit: number): Promise<Booking[]> {
  const { rows } = await q.query<Booking>(`${BOOKINGS} LIMIT $3`, [eventId, after, limit]);
  return rows;
}

// Rows fetched per round trip: a few hundred kilobytes at most in memory, whatever the sale's size.
const STREAM_BATCH = 500;

/**
 * Every booking of an event, as a stream of rows read through a cursor, STREAM_BATCH at a time
 * and only as fast as the reader takes them. It runs on a connection of its own, without the
 * pool's statement timeout (an export of a large sale to a slow client takes as long as it takes)
 * and without holding a pool connection meanwhile; the connection closes when the stream ends or
 * is destroyed.
 */
export async function streamBookings(db: Db, eventId: number, connectTimeoutMs: number): Promise<Readable> {
  const client = new pg.Client({ connectionString: db.pool.options.connectionString, connectionTimeoutMillis: connectTimeoutMs });
  await client.connect();
  const rows = client.query(new QueryStream(BOOKINGS, [eventId, 0], { batchSize: STREAM_BATCH, highWaterMark: STREAM_BATCH }));
  client.on('error', (err) => rows.destroy(err));
  rows.once('close', () => void client.end().catch(() => undefined));
  return rows;
}
