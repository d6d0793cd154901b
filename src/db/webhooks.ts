// Webhook endpoints and the delivery of the outbox's rows: the dispatcher's claim and its results,
// the delivery log and "retry now", and pruning.
import type { Delivery, DeliveryStatus, Webhook } from '../domain/webhooks.ts';
import type { Queryable } from './pool.ts';

const ENDPOINT = `id, url, event_types AS events, to_json(created_at) #>> '{}' AS created_at`;

export async function insertEndpoint(q: Queryable, url: string, events: string[], secret: string): Promise<Webhook> {
  const { rows } = await q.query<Webhook>(
    `INSERT INTO webhook_endpoints (url, event_types, secret) VALUES ($1, $2, $3) RETURNING ${ENDPOINT}`,
    [url, events, secret],
  );
  return rows[0]!;
}

export async function listEndpoints(q: Queryable): Promise<Webhook[]> {
  const { rows } = await q.query<Webhook>(`SELECT ${ENDPOINT} FROM webhook_endpoints ORDER BY id`);
  return rows;
}

/** Removes an endpoint and its deliveries, delivered or not; false when there is no such endpoint. */
export async function deleteEndpoint(q: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
  return rowCount === 1;
}

const DELIVERY = `d.id, d.message_id, d.endpoint_id, e.url, d.event_type, d.status, d.attempts,
  coalesce(d.sending_until > now(), false) AS in_flight,
  to_json(d.created_at) #>> '{}' AS created_at, to_json(d.last_attempt_at) #>> '{}' AS last_attempt_at,
  CASE WHEN d.status = 'pending' THEN to_json(d.next_attempt_at) #>> '{}' END AS next_attempt_at,
  d.last_status, d.last_error, to_json(d.delivered_at) #>> '{}' AS delivered_at`;

export interface DeliveryFilter {
  status?: DeliveryStatus;
  endpointId?: number;
  /** Deliveries older than this id (the previous page's next_cursor). */
  before?: number;
  limit: number;
}

/** The delivery log, newest first. */
export async function listDeliveries(q: Queryable, f: DeliveryFilter): Promise<Delivery[]> {
  const { rows } = await q.query<Delivery>(
    `SELECT ${DELIVERY} FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE ($1::text IS NULL OR d.status = $1) AND ($2::bigint IS NULL OR d.endpoint_id = $2) AND ($3::bigint IS NULL OR d.id < $3)
     ORDER BY d.id DESC LIMIT $4`,
    [f.status ?? null, f.endpointId ?? null, f.before ?? null, f.limit],
  );
  return rows;
}

/**
 * "Retry now": the delivery is due at once, and its retries go on for another window from now if
 * they had given up; a delivered one is sent again (same webhook-id). Not while a dispatcher is
 * sending it: 'in_flight' (two deliveries of one event at once are what the lease rules out).
 */
export async function retryDelivery(q: Queryable, id: number): Promise<Delivery | 'in_flight' | undefined> {
  const { rows } = await q.query<Delivery>(
    `WITH retried AS (
       UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),
              retrying_since = CASE WHEN status = 'pending' THEN retrying_since ELSE now() END
       WHERE id = $1 AND (sending_until IS NULL OR sending_until <= now())
       RETURNING *)
     SELECT ${DELIVERY} FROM retried d JOIN webhook_endpoints e ON e.id = d.endpoint_id`,
    [id],
  );
  if (rows[0]) return rows[0];
  const { rowCount } = await q.query('SELECT 1 FROM webhook_deliveries WHERE id = $1', [id]);
  return rowCount ? 'in_flight' : undefined;
}

/** A delivery a dispatcher has taken: what it sends, and `attempts`, which fences its result. */
export interface ClaimedDelivery {
  id: number;
  message_id: string;
  endpoint_id: number;
  url: string;
  secret: string;
  payload: string;
  attempts: number;
}

/**
 * Takes up to `limit` due deliveries, at most `perEndpoint` of each endpoint and none of the
 * endpoints in `skipEndpoints` (those this dispatcher is already busy with), oldest due first.
 * FOR UPDATE SKIP LOCKED lets several dispatchers claim at once without waiting for each other or
 * taking the same row; the claim then marks each row as being sent for `leaseMs` (the request's
 * timeout and a margin) and commits at once, so that nobody takes it while it is being sent, and
 * everybody may once the lease has passed (a dispatcher killed mid-delivery).
 */
export async function claimDeliveries(q: Queryable, limit: number, perEndpoint: number, skipEndpoints: number[], leaseMs: number):
Promise<ClaimedDelivery[]> {
  const { rows } = await q.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT d.id FROM webhook_endpoints e
       CROSS JOIN LATERAL (
         SELECT id FROM webhook_deliveries
         WHERE endpoint_id = e.id AND status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) d
       WHERE e.id <> ALL ($3::bigint[])
       LIMIT $1)
     UPDATE webhook_deliveries w
     SET attempts = w.attempts + 1, last_attempt_at = now(),
         sending_until = now() + make_interval(secs => $4 / 1000.0), next_attempt_at = now() + make_interval(secs => $4 / 1000.0)
     FROM due, webhook_endpoints e
     WHERE w.id = due.id AND e.id = w.endpoint_id
     RETURNING w.id, w.message_id, w.endpoint_id, e.url, e.secret, w.payload::text AS payload, w.attempts`,
    [limit, perEndpoint, skipEndpoints, leaseMs],
  );
  return rows;
}

/**
 * The endpoint answered 2xx to each of these attempts, recorded in one statement. Returns the ids
 * recorded: one missing lost its claim meanwhile (its lease passed; another attempt owns the row).
 */
export async function markDelivered(q: Queryable, done: { delivery: ClaimedDelivery; status: number }[]): Promise<Set<number>> {
  const { rows } = await q.query<{ id: number }>(
    `UPDATE webhook_deliveries w
     SET status = 'delivered', delivered_at = now(), last_status = x.status, last_error = NULL, sending_until = NULL
     FROM unnest($1::bigint[], $2::int[], $3::int[]) AS x (id, attempts, status)
     WHERE w.id = x.id AND w.attempts = x.attempts
     RETURNING w.id`,
    [done.map((d) => d.delivery.id), done.map((d) => d.delivery.attempts), done.map((d) => d.status)],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * The attempt failed: try again `delayMs` later, or give up (failed) when the retries have gone
 * on for `windowSeconds` already, so that the last attempt comes at least that long after the
 * event. Returns the status the row was left in, or undefined when the claim was lost.
 */
export async function markFailed(q: Queryable, d: ClaimedDelivery, status: number | null, error: string, delayMs: number, windowSeconds: number):
Promise<DeliveryStatus | undefined> {
  const { rows } = await q.query<{ status: DeliveryStatus }>(
    `UPDATE webhook_deliveries
     SET status = CASE WHEN now() >= retrying_since + make_interval(secs => $6) THEN 'failed' ELSE 'pending' END,
         next_attempt_at = now() + make_interval(secs => $5 / 1000.0), last_status = $3, last_error = $4, sending_until = NULL
     WHERE id = $1 AND attempts = $2
     RETURNING status`,
    [d.id, d.attempts, status, error, delayMs, windowSeconds],
  );
  return rows[0]?.status;
}

/** When the earliest pending delivery is due (a claimed one's lease end counts), if any. */
export async function nextDue(q: Queryable): Promise<Date | undefined> {
  // One probe of the due index per endpoint, rather than a walk through every pending row.
  const { rows } = await q.query<{ at: Date | null }>(
    `SELECT min(d.next_attempt_at) AS at FROM webhook_endpoints e
     CROSS JOIN LATERAL (SELECT next_attempt_at FROM webhook_deliveries
                         WHERE endpoint_id = e.id AND status = 'pending' ORDER BY next_attempt_at LIMIT 1) d`,
  );
  return rows[0]?.at ?? undefined;
}

/** Forgets delivered and failed deliveries older than `days`; pending ones stay whatever their age. */
export async function pruneDeliveries(q: Queryable, days: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < now() - make_interval(days => $1)`,
    [days],
  );
  return rowCount ?? 0;
}
