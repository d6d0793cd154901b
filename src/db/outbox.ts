// Writing webhook events to the outbox (webhook_deliveries) in the statement or transaction of the
// change they report, so that an event exists if and only if its change committed. A change that
// no endpoint subscribes to writes nothing: the events are computed behind an EXISTS on the
// endpoints, which PostgreSQL evaluates once per statement, so admission pays one probe of a tiny
// table per batch and no row (measured in BENCHMARKS.md).
import type { WebhookEventType } from '../domain/webhooks.ts';
import type { Queryable } from './pool.ts';

/**
 * Two WITH items (for a statement that changes something in its other WITH items) that write one
 * event of `type` per row of `source` to every endpoint subscribed to it. `source` is a FROM
 * clause over the changed rows (a data-modifying WITH item's RETURNING, read once whatever is
 * written), `data` the event's data as a json expression over it. The event id is drawn once per
 * row (the MATERIALIZED item), so every endpoint gets the same id for the same change.
 */
export function outboxEvents(name: string, type: WebhookEventType, source: string, data: string): string {
  return `${name}_events AS MATERIALIZED (
      SELECT 'msg_' || replace(gen_random_uuid()::text, '-', '') AS message_id, ${data} AS data
      FROM ${source}
      WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE '${type}' = ANY (event_types))),
    ${name} AS (
      INSERT INTO webhook_deliveries (message_id, endpoint_id, event_type, payload)
      SELECT m.message_id, e.id, '${type}', json_build_object('type', '${type}', 'timestamp', utc_iso(now()), 'data', m.data)
      FROM ${name}_events m JOIN webhook_endpoints e ON '${type}' = ANY (e.event_types))`;
}

/**
 * The data of hold.granted, hold.expired and hold.cancelled, over `h` (a hold's columns: id,
 * ticket_type_id, user_id, quantity, expires_at) and `t` (its ticket type). Never the token.
 */
const HOLD_DATA = `json_build_object('hold_id', h.id, 'event_id', t.event_id, 'ticket_type_id', h.ticket_type_id,
  'user_id', h.user_id, 'quantity', h.quantity, 'expires_at', utc_iso(h.expires_at))`;

/** outboxEvents for hold rows: `holds` names a WITH item returning the columns HOLD_DATA reads. */
export const holdEvents = (name: string, type: WebhookEventType, holds: string) =>
  outboxEvents(name, type, `${holds} h JOIN ticket_types t ON t.id = h.ticket_type_id`, HOLD_DATA);

/** booking.confirmed: `bookings` returns booking_id and the hold's columns (HOLD_DATA's and confirmed_at). */
export const bookingEvents = (name: string, bookings: string) =>
  outboxEvents(name, 'booking.confirmed', `${bookings} h JOIN ticket_types t ON t.id = h.ticket_type_id JOIN events e ON e.id = t.event_id`,
    `json_build_object('booking_id', h.booking_id, 'hold_id', h.id, 'event_id', t.event_id, 'ticket_type_id', h.ticket_type_id,
      'user_id', h.user_id, 'quantity', h.quantity, 'unit_price', t.price::text, 'total_price', (t.price * h.quantity)::text,
      'currency', e.currency, 'confirmed_at', utc_iso(h.confirmed_at))`);

export type SaleEventType = Extract<WebhookEventType, 'sale.opened' | 'sale.closed'>;

export interface SaleChange {
  ticketTypeId: number;
  /** Why: created, reopened, sold_out, event_started (and whatever a scheduled sale adds). */
  reason: string;
}

/**
 * Records sale.opened or sale.closed for ticket types whose sale just opened or ended. Call it
 * inside the transaction that makes the change, so that the event commits with it or not at all.
 */
export async function recordSaleEvents(q: Queryable, type: SaleEventType, changes: SaleChange[]): Promise<void> {
  if (!changes.length) return;
  await q.query(
    `WITH s AS (
       SELECT t.id, t.event_id, t.name, t.capacity, t.quantity_available, t.price, e.currency, x.reason
       FROM unnest($1::bigint[], $2::text[]) AS x (id, reason) JOIN ticket_types t ON t.id = x.id JOIN events e ON e.id = t.event_id),
     ${outboxEvents('sale', type, 's', `json_build_object('ticket_type_id', s.id, 'event_id', s.event_id, 'name', s.name,
        'reason', s.reason, 'capacity', s.capacity, 'quantity_available', s.quantity_available, 'unit_price', s.price::text,
        'currency', s.currency)`)}
     SELECT 1`,
    [changes.map((c) => c.ticketTypeId), changes.map((c) => c.reason)],
  );
}

/**
 * Marks the line as having told a buyer sold_out for the first time and records line.sold_out,
 * once per ticket type, in the admitting transaction. `remaining` is what may still come to the
 * line (available plus held) at that moment: buyers who want fewer tickets may still get some.
 */
export async function recordLineSoldOut(q: Queryable, ticketTypeId: number, remaining: number): Promise<void> {
  await q.query(
    `WITH marked AS (
       UPDATE ticket_types SET line_sold_out_at = now() WHERE id = $1 AND line_sold_out_at IS NULL RETURNING id, event_id),
     ${outboxEvents('sold_out', 'line.sold_out', 'marked f',
       `json_build_object('ticket_type_id', f.id, 'event_id', f.event_id, 'remaining', $2::int)`)}
     SELECT 1`,
    [ticketTypeId, remaining],
  );
}
