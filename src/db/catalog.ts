// Events and ticket types: the public listing and the admin's writes.
import type { Event, NewEvent, NewTicketType, TicketType, TicketTypeRule } from '../domain/catalog.ts';
import { drawCommitment, newDrawSecret } from '../domain/draw.ts';
import { saleState, type SaleTimes } from '../domain/onsale.ts';
import type { Db, Queryable } from './pool.ts';

// A ticket type's sale as the listing shows it; `state` is filled in from the times (withState).
const LIFECYCLE_JSON = `'prequeue_opens_at', to_json(t.prequeue_opens_at) #>> '{}', 'sale_starts_at', to_json(t.sale_starts_at) #>> '{}',
           'sale_ends_at', to_json(t.sale_ends_at) #>> '{}', 'closed', t.closed_at IS NOT NULL,
           'draw_commitment', t.draw_commitment, 'join_challenge', t.join_challenge`;
const LIFECYCLE_COLUMNS = `to_json(prequeue_opens_at) #>> '{}' AS prequeue_opens_at, to_json(sale_starts_at) #>> '{}' AS sale_starts_at,
     to_json(sale_ends_at) #>> '{}' AS sale_ends_at, closed_at IS NOT NULL AS closed, draw_commitment, join_challenge`;

type StoredTicketType = Omit<TicketType, 'state'> & { closed?: boolean };

const ms = (iso: string | null) => (iso === null ? undefined : Date.parse(iso));

export function saleTimes(t: Pick<StoredTicketType, 'prequeue_opens_at' | 'sale_starts_at' | 'sale_ends_at' | 'closed'>): SaleTimes {
  return { prequeueOpensMs: ms(t.prequeue_opens_at), saleStartsMs: ms(t.sale_starts_at), saleEndsMs: ms(t.sale_ends_at), closed: !!t.closed };
}

/** The listing's ticket type: its state now, from its times and stock. */
function withState({ closed, ...t }: StoredTicketType, now = Date.now()): TicketType {
  return { ...t, state: saleState(saleTimes({ ...t, closed }), t.quantity_available, now) };
}

const eventWithStates = (e: Event) => ({ ...e, ticket_types: (e.ticket_types as StoredTicketType[]).map((t) => withState(t)) });

// What a ticket type adds for the organiser's integration (issue 14), in the listing and on creation.
const ORGANISER_FIELDS = `'currency', e.currency, 'confirm_by', t.confirm_by, 'checkout_url', t.checkout_url`;

// One query for any number of events: ticket types are aggregated per event in PostgreSQL.
const EVENTS_SQL = `
  SELECT e.id, e.name, e.description, e.venue, to_json(e.starts_at) #>> '{}' AS starts_at, e.currency,
         coalesce(json_agg(json_build_object(
           'id', t.id, 'name', t.name, 'price', t.price::text, 'capacity', t.capacity,
           'quantity_available', t.quantity_available, 'max_per_order', t.max_per_order,
           ${LIFECYCLE_JSON},
           ${ORGANISER_FIELDS}
         ) ORDER BY t.id) FILTER (WHERE t.id IS NOT NULL), '[]') AS ticket_types
  FROM events e LEFT JOIN ticket_types t ON t.event_id = e.id`;

export async function listEvents(db: Db): Promise<Event[]> {
  const { rows } = await db.query<Event>(`${EVENTS_SQL} GROUP BY e.id ORDER BY e.starts_at, e.id`);
  return rows.map(eventWithStates);
}

export async function getEvent(db: Db, id: number): Promise<Event | undefined> {
  const { rows } = await db.query<Event>(`${EVENTS_SQL} WHERE e.id = $1 GROUP BY e.id`, [id]);
  return rows[0] && eventWithStates(rows[0]);
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

export const TICKET_TYPE_COLUMNS = `id, name, price::text AS price, capacity, quantity_available, max_per_order, ${LIFECYCLE_COLUMNS},
     (SELECT currency FROM events e WHERE e.id = event_id) AS currency, confirm_by, checkout_url`;

/** A ticket type row read with TICKET_TYPE_COLUMNS, as the API shows it. */
export const ticketTypeView = (row: StoredTicketType) => withState(row);

/**
 * Creates a ticket type whose whole capacity is available; undefined when the event does not
 * exist. A pre-queue gets its draw secret now, and its commitment is published at once.
 */
/**
 * Ticket types are created one at a time (this transaction-scoped lock is taken before the row
 * draws its id), so that they commit in id order: the processors look for new ones by id
 * (ticketTypesSince), and one that committed after a higher id was seen would never be looked at
 * (300 created at once: a line left without its processor, engine-many-lines.test.ts).
 */
const CREATE_LOCK_KEY = 7_262_004; // arbitrary, constant: "boxoffice ticket type creation"

export async function createTicketType(db: Queryable, eventId: number, t: NewTicketType): Promise<TicketType | undefined> {
  const secret = t.prequeue_opens_at ? newDrawSecret() : null;
  const { rows } = await db.query<StoredTicketType>(
    `INSERT INTO ticket_types (event_id, name, price, capacity, quantity_available, max_per_order, prequeue_opens_at, sale_starts_at,
                               sale_ends_at, draw_secret, draw_commitment, join_challenge, challenge_difficulty, confirm_by, checkout_url)
     SELECT id, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
     FROM events, (SELECT pg_advisory_xact_lock(${CREATE_LOCK_KEY})) AS one_at_a_time WHERE id = $1
     RETURNING ${TICKET_TYPE_COLUMNS}`,
    [eventId, t.name, t.price, t.capacity, t.max_per_order ?? 4, t.prequeue_opens_at ?? null, t.sale_starts_at ?? null,
      t.sale_ends_at ?? null, secret, secret && drawCommitment(secret), t.join_challenge ?? false, t.challenge_difficulty ?? 50_000,
      t.confirm_by ?? 'buyer', t.checkout_url ?? null],
  );
  return rows[0] && withState(rows[0]);
}

/** The currency of an event's prices; undefined when the event does not exist. */
export async function eventCurrency(q: Queryable, eventId: number): Promise<string | undefined> {
  const { rows } = await q.query<{ currency: string }>('SELECT currency FROM events WHERE id = $1', [eventId]);
  return rows[0]?.currency;
}

export async function getTicketTypeRule(db: Db, id: number): Promise<TicketTypeRule | undefined> {
  const { rows } = await db.query<StoredTicketType & { event_id: number; challenge_difficulty: number }>(
    `SELECT id, event_id, max_per_order, ${LIFECYCLE_COLUMNS}, challenge_difficulty, confirm_by FROM ticket_types WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  return row && {
    id: row.id, event_id: row.event_id, max_per_order: row.max_per_order, sale: saleTimes(row),
    join_challenge: row.join_challenge, challenge_difficulty: row.challenge_difficulty, draw_commitment: row.draw_commitment,
    confirm_by: row.confirm_by,
  };
}

/**
 * Ticket types created after `afterId`, and whether each one's sale is still going (not over:
 * src/db/retention.ts), for the processors' list of lines.
 */
export async function ticketTypesSince(db: Db, afterId: number): Promise<{ id: number; live: boolean }[]> {
  const { rows } = await db.query<{ id: number; live: boolean }>(
    'SELECT id, sale_over_at IS NULL AS live FROM ticket_types WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows;
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
