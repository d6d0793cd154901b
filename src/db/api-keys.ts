// API keys of the organiser's servers (hashed at rest) and the answers of their idempotent confirms.
import type { ApiKey } from '../domain/organiser.ts';
import type { Queryable } from './pool.ts';

const COLUMNS = `id, event_id, name, key_prefix, to_json(created_at) #>> '{}' AS created_at, to_json(revoked_at) #>> '{}' AS revoked_at`;

/** Undefined when the event does not exist. */
export async function insertApiKey(q: Queryable, eventId: number, name: string, hash: Buffer, prefix: string): Promise<ApiKey | undefined> {
  const { rows } = await q.query<ApiKey>(
    `INSERT INTO api_keys (event_id, name, key_hash, key_prefix) SELECT id, $2, $3, $4 FROM events WHERE id = $1 RETURNING ${COLUMNS}`,
    [eventId, name, hash, prefix],
  );
  return rows[0];
}

/** Every key, or an event's, newest first; revoked ones too (with revoked_at), for the record. */
export async function listApiKeys(q: Queryable, eventId?: number): Promise<ApiKey[]> {
  const { rows } = await q.query<ApiKey>(
    `SELECT ${COLUMNS} FROM api_keys WHERE $1::bigint IS NULL OR event_id = $1 ORDER BY id DESC`,
    [eventId ?? null],
  );
  return rows;
}

/** Revokes a key (a repeat keeps the first revocation's time); undefined when there is no such key. */
export async function revokeApiKey(q: Queryable, id: number): Promise<ApiKey | undefined> {
  const { rows } = await q.query<ApiKey>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0];
}

/** The live key with this hash: its id and event. */
export async function findLiveApiKey(q: Queryable, hash: Buffer): Promise<{ id: number; event_id: number } | undefined> {
  const { rows } = await q.query<{ id: number; event_id: number }>(
    'SELECT id, event_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hash],
  );
  return rows[0];
}

/** What an organiser's confirm answered: its result, or its error. */
export type ConfirmOutcome<T> = { ok: T } | { error: { code: string; message: string } };

/**
 * Claims an Idempotency-Key inside the confirm's transaction. A concurrent request with the same
 * key waits here until the first one's transaction ends (the primary key's lock), then reads its
 * answer; a first request that failed (rolled back) leaves nothing, and the next one runs afresh.
 * Returns undefined when the key is new (the caller confirms, then storeOutcome), else the request
 * it was first used for and its answer.
 */
export async function claimIdempotencyKey<T>(q: Queryable, apiKeyId: number, key: string, requestHash: Buffer):
Promise<{ requestHash: Buffer; outcome: ConfirmOutcome<T> } | undefined> {
  const { rowCount } = await q.query(
    `INSERT INTO confirm_requests (api_key_id, idempotency_key, request_hash, outcome) VALUES ($1, $2, $3, 'null')
     ON CONFLICT DO NOTHING`,
    [apiKeyId, key, requestHash],
  );
  if (rowCount === 1) return undefined;
  const { rows } = await q.query<{ request_hash: Buffer; outcome: ConfirmOutcome<T> }>(
    'SELECT request_hash, outcome FROM confirm_requests WHERE api_key_id = $1 AND idempotency_key = $2',
    [apiKeyId, key],
  );
  return { requestHash: rows[0]!.request_hash, outcome: rows[0]!.outcome };
}

export async function storeOutcome<T>(q: Queryable, apiKeyId: number, key: string, outcome: ConfirmOutcome<T>): Promise<void> {
  await q.query('UPDATE confirm_requests SET outcome = $3 WHERE api_key_id = $1 AND idempotency_key = $2', [apiKeyId, key, outcome]);
}

/** Forgets idempotency keys older than `hours`: a confirm repeated after that is a new request (and finds its booking). */
export async function pruneIdempotencyKeys(q: Queryable, hours: number): Promise<number> {
  const { rowCount } = await q.query('DELETE FROM confirm_requests WHERE created_at < now() - make_interval(hours => $1)', [hours]);
  return rowCount ?? 0;
}
