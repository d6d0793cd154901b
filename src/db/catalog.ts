// Events and ticket types: the public listing and the admin's writes.
import type { Event, NewEvent, NewTicketType, TicketType, TicketTypeRule } from '../domain/catalog.ts';
import type { Db, Queryable } from './pool.ts';

// What a ticket type adds for the organiser's integration (issue 14), in the listing and on creation.
const ORGANISER_FIELDS = `'currency', e.currency, 'confirm_by', t.confirm_by, 'checkout_url', t.checkout_url`;

// One query for any number of events: ticket types are aggregated per event in PostgreSQL.
const EVENTS_SQL = `
  SELECT e.id, e.name, e.description, e.venue, to_json(e.starts_at) #>> '{}' AS starts_at, e.currency,
         coalesce(json_agg(json_build_object(
           'id', t.id, 'name', t.name, 'price', t.price::text, 'capacity', t.capacity,
           'quantity_available', t.quantity_available, 'max_per_order', t.max_per_order,
           ${ORGANISER_FIELDS}
         ) ORDER BY t.id) FILTER (WHERE t.id IS NOT NULL), '[]') AS ticket_types
  FROM events e LEFT JOIN ticket_types t ON t.event_id = e.id`;

export async function listEvents(db: Db): Promise<Event[]> {
  const { rows } = await db.query<Event>(`${EVENTS_SQL} GROUP BY e.id ORDER BY e.starts_at, e.id`);
  return rows;
}

export async function getEvent(db: Db, id: number): Promise<Event | undefined> {
  const { rows } = await db.query<Event>(`${EVENTS_SQL} WHERE e.id = $1 GROUP BY e.id`, [id]);
  return rows[0];
}

/** `currency`: the event's own, or the deployment's DEFAULT_CURRENCY (the sale service decides). */
export async function createEvent(db: Db, e: NewEvent & { currency: string }): Promise<Event> {
  const { rows } = await db.query<Event>(
    `INSERT INTO events (name, description, venue, starts_at, currency) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, name, description, venue, to_json(starts_at) #>> '{}' AS starts_at, currency, '[]'::json AS ticket_types`,
    [e.name, e.description ?? '', e.venue ?? '', e.starts_at, e.currency],
  );
  return rows[0]!;
}

/** Creates a ticket type whose whole capacity is available; undefined when the event does not exist. */
export async function createTicketType(q: Queryable, eventId: number, t: NewTicketType): Promise<TicketType | undefined> {
  const { rows } = await q.query<TicketType>(
    `INSERT INTO ticket_types (event_id, name, price, capacity, quantity_available, max_per_order, confirm_by, checkout_url)
     SELECT id, $2, $3, $4, $4, $5, $6, $7 FROM events WHERE id = $1
     RETURNING id, name, price::text AS price, capacity, quantity_available, max_per_order,
               (SELECT currency FROM events WHERE id = $1), confirm_by, checkout_url`,
    [eventId, t.name, t.price, t.capacity, t.max_per_order ?? 4, t.confirm_by ?? 'buyer', t.checkout_url ?? null],
  );
  return rows[0];
}

/** The currency of an event's prices; undefined when the event does not exist. */
export async function eventCurrency(q: Queryable, eventId: number): Promise<string | undefined> {
  const { rows } = await q.query<{ currency: string }>('SELECT currency FROM events WHERE id = $1', [eventId]);
  return rows[0]?.currency;
}

export async function getTicketTypeRule(db: Db, id: number): Promise<TicketTypeRule | undefined> {
  const { rows } = await db.query<TicketTypeRule>(
    'SELECT id, event_id, max_per_order, confirm_by FROM ticket_types WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function listTicketTypeIds(db: Db): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM ticket_types ORDER BY id');
  return rows.map((r) => r.id);
}

/**
 * What may still reach the line of a ticket type: stock available now plus stock held (a hold
 * may come back). Reads only outstanding holds (partial index reservations_held), never the line.
 */
export async function remainingStock(q: Queryable, id: number): Promise<number | undefined> {
  const { rows } = await q.query<{ remaining: number }>(
    `SELECT t.quantity_available + coalesce((SELECT sum(r.quantity) FROM reservations r
             WHERE r.ticket_type_id = t.id AND r.status = 'reserved'), 0)::int AS remaining
     FROM ticket_types t WHERE t.id = $1`,
    [id],
  );
  return rows[0]?.remaining;
}
