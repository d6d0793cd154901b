// Scheduled on-sale in PostgreSQL (issue 13): the organiser's changes to a sale, the engine's two
// transitions (opened, closed; each one statement, run inside the caller's transaction, so that
// whatever else must happen with a transition can join that transaction), and the draw's record.
import type { PoolClient } from 'pg';
import type { TicketType, TicketTypeChange } from '../domain/catalog.ts';
import { drawCommitment, newDrawSecret } from '../domain/draw.ts';
import { TICKET_TYPE_COLUMNS, ticketTypeView } from './catalog.ts';
import { recordSaleEvents } from './outbox.ts';
import type { Queryable } from './pool.ts';

/** A ticket type's sale, locked for a change. */
export interface LockedSale {
  ticketType: TicketType;
  sold: number;
  opened: boolean;
  hasSecret: boolean;
}

export async function lockSale(client: PoolClient, id: number): Promise<LockedSale | undefined> {
  const { rows } = await client.query(
    `SELECT ${TICKET_TYPE_COLUMNS}, capacity - quantity_available AS sold, opened_at IS NOT NULL AS opened, draw_secret IS NOT NULL AS has_secret
     FROM ticket_types WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { sold, opened, has_secret: hasSecret, ...ticketType } = row;
  return { ticketType: ticketTypeView(ticketType), sold, opened, hasSecret };
}

/**
 * Writes the lifecycle settings given (an absent field is left as it is, null clears it). A
 * pre-queue gets its draw secret when it is first scheduled; one removed before it opened loses it.
 */
export async function updateLifecycle(client: PoolClient, id: number, change: TicketTypeChange, hasSecret: boolean): Promise<void> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  for (const column of ['prequeue_opens_at', 'sale_starts_at', 'sale_ends_at', 'join_challenge', 'challenge_difficulty'] as const) {
    if (change[column] !== undefined) set(column, change[column]);
  }
  if (change.prequeue_opens_at && !hasSecret) {
    const secret = newDrawSecret();
    set('draw_secret', secret);
    set('draw_commitment', drawCommitment(secret));
  }
  if (change.prequeue_opens_at === null) {
    set('draw_secret', null);
    set('draw_commitment', null);
  }
  if (sets.length) await client.query(`UPDATE ticket_types SET ${sets.join(', ')} WHERE id = $1`, values);
}

/**
 * Sets the capacity, adding the difference to (or withdrawing it from) the stock available now, in
 * one statement; false, changing nothing, when more would be withdrawn than is available (I1).
 */
export async function changeCapacity(q: Queryable, id: number, capacity: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE ticket_types SET quantity_available = quantity_available + ($2 - capacity), capacity = $2
     WHERE id = $1 AND quantity_available + ($2 - capacity) >= 0`,
    [id, capacity],
  );
  return rowCount === 1;
}

/** The sale opens, with its sale.opened event: true when this call made the transition (once per sale). */
export async function openSale(q: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await q.query('UPDATE ticket_types SET opened_at = now() WHERE id = $1 AND opened_at IS NULL', [id]);
  if (rowCount === 1) await recordSaleEvents(q, 'sale.opened', [{ ticketTypeId: id, reason: 'scheduled' }]);
  return rowCount === 1;
}

/**
 * The sale closes (its end passed: reason `ended`; the organiser closed it: `closed_early`), with
 * its sale.closed event unless the sale was over already (and said so): true when this call made
 * the transition.
 */
export async function closeSale(q: Queryable, id: number, reason: 'ended' | 'closed_early'): Promise<boolean> {
  const { rows } = await q.query<{ live: boolean }>(
    'UPDATE ticket_types SET closed_at = now() WHERE id = $1 AND closed_at IS NULL RETURNING sale_over_at IS NULL AS live', [id]);
  if (rows[0]?.live) await recordSaleEvents(q, 'sale.closed', [{ ticketTypeId: id, reason }]);
  return rows.length === 1;
}

export interface DueTransitions {
  opening: number[];
  closing: number[];
  /** When the next transition not yet due is, if any. */
  nextAt?: Date;
}

/** Sales whose opening or end has passed without its transition, and when the next one is due. */
export async function dueTransitions(q: Queryable): Promise<DueTransitions> {
  const { rows } = await q.query<{ kind: 'opening' | 'closing' | 'next'; ids: number[] | null; at: Date | null }>(
    `SELECT 'opening' AS kind, array_agg(id ORDER BY sale_starts_at) AS ids, NULL::timestamptz AS at
       FROM ticket_types WHERE opened_at IS NULL AND sale_starts_at <= now()
     UNION ALL
     SELECT 'closing', array_agg(id ORDER BY sale_ends_at), NULL FROM ticket_types WHERE closed_at IS NULL AND sale_ends_at <= now()
     UNION ALL
     SELECT 'next', NULL, least(
       (SELECT min(sale_starts_at) FROM ticket_types WHERE opened_at IS NULL AND sale_starts_at > now()),
       (SELECT min(sale_ends_at) FROM ticket_types WHERE closed_at IS NULL AND sale_ends_at > now()))`,
  );
  const of = (kind: string) => rows.find((r) => r.kind === kind);
  // pg leaves bigint[] as strings: ids are numbers everywhere else (the processor keys its runs by them).
  const ids = (kind: string) => (of(kind)?.ids ?? []).map(Number);
  return { opening: ids('opening'), closing: ids('closing'), nextAt: of('next')?.at ?? undefined };
}

/** The draw's secret S, once a pre-queue was scheduled. */
export async function drawSecret(q: Queryable, id: number): Promise<Buffer | undefined> {
  const { rows } = await q.query<{ draw_secret: Buffer | null }>('SELECT draw_secret FROM ticket_types WHERE id = $1', [id]);
  return rows[0]?.draw_secret ?? undefined;
}

export interface DrawRecord {
  entries: number;
  entriesDigest: string;
  seed: string;
  /** The entry ids in draw order, 16 bytes each. */
  order: Buffer;
}

/** Writes the draw's result once; a second writer (which computed the same) changes nothing. */
export async function recordDraw(q: Queryable, id: number, draw: DrawRecord): Promise<void> {
  await q.query(
    `INSERT INTO draws (ticket_type_id, entries, entries_digest, seed, draw_order) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (ticket_type_id) DO NOTHING`,
    [id, draw.entries, draw.entriesDigest, draw.seed, draw.order],
  );
}

export async function drawRecorded(q: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await q.query('SELECT 1 FROM draws WHERE ticket_type_id = $1', [id]);
  return rowCount === 1;
}

export async function markDrawPlaced(q: Queryable, id: number): Promise<void> {
  await q.query('UPDATE draws SET placed_at = now() WHERE ticket_type_id = $1 AND placed_at IS NULL', [id]);
}

export interface PublishedDraw {
  commitment: string;
  prequeue_opens_at: string;
  sale_starts_at: string;
  /** Present once drawn: then S may be published. */
  drawn?: DrawRecord & { secret: Buffer };
}

/** What GET /ticket-types/:id/draw publishes; undefined when the ticket type has no pre-queue. */
export async function publishedDraw(q: Queryable, id: number): Promise<PublishedDraw | undefined> {
  const { rows } = await q.query(
    `SELECT t.draw_commitment AS commitment, to_json(t.prequeue_opens_at) #>> '{}' AS prequeue_opens_at,
            to_json(t.sale_starts_at) #>> '{}' AS sale_starts_at, t.draw_secret AS secret,
            d.entries, d.entries_digest, d.seed, d.draw_order
     FROM ticket_types t LEFT JOIN draws d ON d.ticket_type_id = t.id
     WHERE t.id = $1 AND t.draw_commitment IS NOT NULL AND t.prequeue_opens_at IS NOT NULL`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const published: PublishedDraw = { commitment: row.commitment, prequeue_opens_at: row.prequeue_opens_at, sale_starts_at: row.sale_starts_at };
  if (row.entries_digest !== null) {
    published.drawn = { entries: row.entries, entriesDigest: row.entries_digest, seed: row.seed, order: row.draw_order, secret: row.secret };
  }
  return published;
}

/** The tokens of the buyers admitted (a hold granted), in the order of admission, `limit` from `offset`. */
export async function admittedTokens(q: Queryable, id: number, offset: number, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ token: string }>(
    'SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id OFFSET $2 LIMIT $3', [id, offset, limit]);
  return rows.map((r) => r.token);
}
