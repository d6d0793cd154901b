// Holds: admission of a batch, confirm, cancel and expiry. Every change of stock happens in the
// same statement or transaction as the change of the hold rows that explains it (I1, I2).
import type { PoolClient } from 'pg';
import type { Candidate } from '../domain/record.ts';
import type { EndedHoldStatus, HoldStatus } from '../domain/status.ts';
import { bookingEvents, holdEvents, recordLineSoldOut } from './outbox.ts';
import type { Db, Queryable } from './pool.ts';

export interface AdmitOutcome {
  granted: Candidate[];
  soldOut: Candidate[];
  /** From the first buyer whose quantity may still fit once holds return, in line order. */
  waiting: Candidate[];
  /** The stock the waiting head was measured against (a fresh batch only): a change may let it in. */
  stock?: LineStock;
  expiresAt: Date;
  /**
   * A replay's holds, each with the end its row has: `processing` may hold two batches committed
   * one after the other (the processor commits a batch while the one before it settles).
   */
  holdEnds?: Map<string, Date>;
  /**
   * The batch replays an interrupted batch that had committed: `waiting` then also holds buyers
   * that batch had not settled either way, to be decided afresh by the next batch.
   */
  replay: boolean;
  /** Replayed holds that have ended meanwhile (the sweeper expired one, or its buyer confirmed). */
  ended: { token: string; status: EndedHoldStatus }[];
}

/**
 * Admits buyers in line order inside the caller's transaction. Returns undefined when a processor
 * with a newer epoch has taken the ticket type over (fencing), so a stale one changes nothing.
 * `recovery` marks tokens an interrupted batch may already have committed: when it did, its
 * decision is replayed as it was committed (see replayCommitted) and no stock is taken twice.
 */
export async function admitBatch(
  client: PoolClient,
  ticketTypeId: number,
  epoch: number,
  candidates: Candidate[],
  ttlSeconds: number,
  recovery: boolean,
): Promise<AdmitOutcome | undefined> {
  // Locks the row (admissions of one ticket type are serialised) and checks the fence in one statement.
  const locked = await client.query<{ quantity_available: number; expires_at: Date; told_sold_out: boolean }>(
    `UPDATE ticket_types SET processor_epoch = $2 WHERE id = $1 AND processor_epoch <= $2
     RETURNING quantity_available, now() + make_interval(secs => $3) AS expires_at, line_sold_out_at IS NOT NULL AS told_sold_out`,
    [ticketTypeId, epoch, ttlSeconds],
  );
  const row = locked.rows[0];
  if (!row) return undefined;

  if (recovery) {
    const { rows } = await client.query<CommittedDecision>(
      `SELECT token, status, expires_at FROM reservations WHERE token = ANY($1::text[])
       UNION ALL
       SELECT token, 'sold_out', NULL FROM line_exits WHERE token = ANY($1::text[]) AND outcome = 'sold_out'`,
      [candidates.map((c) => c.token)],
    );
    if (rows.length) return replayCommitted(candidates, rows);
  }

  const outcome: AdmitOutcome = { granted: [], soldOut: [], waiting: [], expiresAt: row.expires_at, replay: false, ended: [] };
  const fresh: Candidate[] = [];
  let available = row.quantity_available;
  let held: number | undefined; // read only when a buyer does not fit: the rare path
  for (const [i, c] of candidates.entries()) {
    if (c.quantity <= available) {
      available -= c.quantity;
      outcome.granted.push(c);
      fresh.push(c);
    } else {
      held ??= await heldQuantity(client, ticketTypeId);
      // Stock that may come back is what is held now; holds granted in this batch count too.
      const mayReturn = held + sumQuantity(fresh);
      if (c.quantity > available + mayReturn) {
        outcome.soldOut.push(c);
      } else {
        outcome.waiting = candidates.slice(i);
        outcome.stock = { available, held: mayReturn };
        break;
      }
    }
  }

  if (fresh.length) {
    // hold.granted for every hold inserted, in the same statement (nothing when nobody subscribes).
    await client.query(
      `WITH inserted AS (
         INSERT INTO reservations (token, ticket_type_id, user_id, quantity, expires_at)
         SELECT t, $2, u, q, $5 FROM unnest($1::text[], $3::text[], $4::int[]) AS x (t, u, q)
         ON CONFLICT (token) DO NOTHING
         RETURNING id, ticket_type_id, user_id, quantity, expires_at),
       ${holdEvents('granted', 'hold.granted', 'inserted')}
       UPDATE ticket_types SET quantity_available = quantity_available - (SELECT coalesce(sum(quantity), 0) FROM inserted)
       WHERE id = $2`,
      [fresh.map((c) => c.token), ticketTypeId, fresh.map((c) => c.userId), fresh.map((c) => c.quantity), row.expires_at],
    );
  }
  if (outcome.soldOut.length) {
    await recordExits(client, ticketTypeId, 'sold_out', outcome.soldOut);
    // The first buyer this line turns away: line.sold_out, once (the rare path pays for it).
    if (!row.told_sold_out) await recordLineSoldOut(client, ticketTypeId, available + (held ?? 0) + sumQuantity(fresh));
  }
  return outcome;
}

/**
 * Records buyers who left the line without a hold, so that PostgreSQL can answer for their tokens
 * once the line's Redis keys are gone. A repeat is harmless; returns how many were new.
 */
export async function recordExits(q: Queryable, ticketTypeId: number, outcome: LineExit['outcome'], buyers: Candidate[]): Promise<number> {
  const { rowCount } = await q.query(
    `INSERT INTO line_exits (token, ticket_type_id, user_id, quantity, outcome)
     SELECT t, $2, u, q, $5 FROM unnest($1::text[], $3::text[], $4::int[]) AS x (t, u, q)
     ON CONFLICT (token) DO NOTHING`,
    [buyers.map((c) => c.token), ticketTypeId, buyers.map((c) => c.userId), buyers.map((c) => c.quantity), outcome],
  );
  return rowCount ?? 0;
}

/** What a line's head is measured against: stock available, and stock held (which may come back). */
export interface LineStock {
  available: number;
  held: number;
}

/**
 * The stock of these ticket types, for the processor's check of lines whose head waits: reads the
 * ticket type rows and the live holds (partial index reservations_held), in one statement.
 */
export async function stockOf(q: Queryable, ticketTypeIds: number[]): Promise<Map<number, LineStock>> {
  const { rows } = await q.query<LineStock & { id: number }>(
    `SELECT t.id, t.quantity_available AS available,
            coalesce((SELECT sum(r.quantity) FROM reservations r WHERE r.ticket_type_id = t.id AND r.status = 'reserved'), 0)::int AS held
     FROM ticket_types t WHERE t.id = ANY($1::bigint[])`,
    [ticketTypeIds],
  );
  return new Map(rows.map(({ id, available, held }) => [id, { available, held }]));
}

/** The epoch of the processor that last admitted buyers of this ticket type. */
export async function processorEpoch(q: Queryable, ticketTypeId: number): Promise<number> {
  const { rows } = await q.query<{ processor_epoch: number }>('SELECT processor_epoch FROM ticket_types WHERE id = $1', [ticketTypeId]);
  return rows[0]?.processor_epoch ?? 0;
}

/** A committed decision about one buyer of a batch: a hold row, or a sold-out exit (no expiry). */
export interface CommittedDecision {
  token: string;
  status: HoldStatus | 'sold_out';
  expires_at: Date | null;
}

/**
 * The decision of an interrupted batch that committed, rebuilt from its rows rather than taken
 * again, so that its holds keep the expiry their rows have (a fresh batch's is later: status would
 * say reserved after the hold ran out) and holds that ended meanwhile are reported as ended. The
 * batch decided a prefix of its buyers, each with a row (a hold, or a sold-out exit: one
 * transaction wrote both); a waiting buyer ended it, so the buyers after the last row go back to
 * the head of the line, for the next batch.
 */
export function replayCommitted(candidates: Candidate[], rows: CommittedDecision[]): AdmitOutcome {
  const committed = new Map(rows.map((r) => [r.token, r]));
  let last = candidates.length - 1;
  while (!committed.has(candidates[last]!.token)) last--;
  const holdEnds = rows.flatMap((r) => (r.expires_at ? [r.expires_at.getTime()] : []));
  const outcome: AdmitOutcome = {
    granted: [], soldOut: [], waiting: candidates.slice(last + 1), replay: true, ended: [],
    // A batch that only told buyers sold_out has no hold to take an end from; nothing will read it.
    expiresAt: new Date(holdEnds.length ? Math.max(...holdEnds) : 0),
    holdEnds: new Map(rows.flatMap((r) => (r.expires_at ? [[r.token, r.expires_at] as const] : []))),
  };
  for (const c of candidates.slice(0, last + 1)) {
    const decision = committed.get(c.token);
    // No row at all: a batch committed before sold-out exits were recorded (an upgrade mid-crash).
    if (!decision || decision.status === 'sold_out') {
      outcome.soldOut.push(c);
      continue;
    }
    outcome.granted.push(c);
    if (decision.status !== 'reserved') outcome.ended.push({ token: c.token, status: decision.status });
  }
  return outcome;
}

const sumQuantity = (buyers: Candidate[]) => buyers.reduce((sum, b) => sum + b.quantity, 0);

async function heldQuantity(q: Queryable, ticketTypeId: number): Promise<number> {
  const { rows } = await q.query<{ held: number }>(
    `SELECT coalesce(sum(quantity), 0)::int AS held FROM reservations WHERE ticket_type_id = $1 AND status = 'reserved'`,
    [ticketTypeId],
  );
  return rows[0]!.held;
}

export interface EndedHold {
  token: string;
  ticket_type_id: number;
}

/**
 * Expires up to `limit` overdue holds and returns their stock, in one statement. SKIP LOCKED leaves
 * rows that a confirm or cancel is changing right now to that change: each hold ends exactly once.
 */
export async function expireDue(q: Queryable, limit: number): Promise<EndedHold[]> {
  const { rows } = await q.query<EndedHold>(
    `WITH due AS (
       SELECT id FROM reservations WHERE status = 'reserved' AND expires_at <= now()
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),
     expired AS (
       UPDATE reservations r SET status = 'expired' FROM due WHERE r.id = due.id
       RETURNING r.id, r.token, r.ticket_type_id, r.user_id, r.quantity, r.expires_at),
     ${holdEvents('expired_events', 'hold.expired', 'expired')},
     returned AS (
       UPDATE ticket_types t SET quantity_available = t.quantity_available + s.quantity
       FROM (SELECT ticket_type_id, sum(quantity)::int AS quantity FROM expired GROUP BY ticket_type_id) s
       WHERE t.id = s.ticket_type_id)
     SELECT token, ticket_type_id FROM expired`,
    [limit],
  );
  return rows;
}

/** When the next hold runs out, if any is outstanding. */
export async function nextExpiry(db: Db): Promise<Date | undefined> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT min(expires_at) AS at FROM reservations WHERE status = 'reserved'`,
  );
  return rows[0]?.at ?? undefined;
}

export interface HoldView {
  id: number;
  ticket_type_id: number;
  quantity: number;
  status: HoldStatus;
  expires_at: Date;
  confirmed_at: Date | null;
  booking_id: number | null;
}

/** A buyer who left the line without a hold (line_exits). */
export interface LineExit {
  ticket_type_id: number;
  quantity: number;
  outcome: 'sold_out' | 'cancelled';
}

export async function findHold(q: Queryable, token: string): Promise<HoldView | undefined> {
  const { rows } = await q.query<HoldView>(
    `SELECT r.id, r.ticket_type_id, r.quantity, r.status, r.expires_at, r.confirmed_at, b.id AS booking_id
     FROM reservations r LEFT JOIN ticket_bookings b ON b.reservation_id = r.id WHERE r.token = $1`,
    [token],
  );
  return rows[0];
}

/**
 * Confirms a live hold and books it, in one statement with its booking.confirmed event: a hold
 * that is expired (even if not yet swept) or already confirmed is left alone, so concurrent
 * confirms create one booking (I2); so is every hold once the statement runs past `deadline`
 * (db.deadline() when the caller's timeout started). Returns the hold as it stands afterwards.
 */
export async function confirmHold(q: Queryable, token: string, deadline: Date | null): Promise<HoldView | undefined> {
  await q.query(
    `WITH confirmed AS (
       UPDATE reservations SET status = 'confirmed', confirmed_at = now()
       WHERE token = $1 AND status = 'reserved' AND expires_at > now() AND statement_timestamp() < coalesce($2::timestamptz, 'infinity')
         -- a buyer who cancelled in line has no hold to confirm, even one a batch granted meanwhile
         AND NOT EXISTS (SELECT 1 FROM line_exits e WHERE e.token = $1 AND e.outcome = 'cancelled')
       RETURNING id, ticket_type_id, user_id, quantity, expires_at, confirmed_at),
     booked AS (
       INSERT INTO ticket_bookings (reservation_id) SELECT id FROM confirmed RETURNING id, reservation_id),
     ${bookingEvents('booked_events', `(SELECT c.*, b.id AS booking_id FROM confirmed c JOIN booked b ON b.reservation_id = c.id)`)}
     SELECT 1`,
    [token, deadline],
  );
  return findHold(q, token);
}

/**
 * Cancels a live hold and returns its stock, in one statement with its hold.cancelled event; false
 * when it was not live, or the statement ran past db.deadline().
 */
export async function cancelHold(db: Db, token: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH cancelled AS (
       UPDATE reservations SET status = 'cancelled'
       WHERE token = $1 AND status = 'reserved' AND statement_timestamp() < coalesce($2::timestamptz, 'infinity')
       RETURNING id, ticket_type_id, user_id, quantity, expires_at),
     ${holdEvents('cancelled_events', 'hold.cancelled', 'cancelled')}
     UPDATE ticket_types t SET quantity_available = t.quantity_available + c.quantity
     FROM cancelled c WHERE t.id = c.ticket_type_id`,
    [token, db.deadline()],
  );
  return rowCount === 1;
}

/**
 * How a token left its line, from PostgreSQL alone: its hold, or its exit without one. A buyer who
 * cancelled in line while a batch was granting them a hold has both: they cancelled, and the hold
 * was revoked (or ran out first), so the cancel is what they are told.
 */
export async function findDeparture(q: Queryable, token: string): Promise<{ hold: HoldView } | { exit: LineExit } | undefined> {
  const { rows } = await q.query<LineExit>('SELECT ticket_type_id, quantity, outcome FROM line_exits WHERE token = $1', [token]);
  if (rows[0]?.outcome === 'cancelled') return { exit: rows[0] };
  const hold = await findHold(q, token);
  if (hold) return { hold };
  return rows[0] && { exit: rows[0] };
}
