// A queue token is the only credential for its reservation (I5): 128 random bits, base64url,
// followed by public routing data: the ticket type id and the bucket of its line where its record
// lives. The suffix is not secret: it lets a status lookup go straight to the right Redis key of
// the right slot without a per-token key, and the bucket keeps a line's records in hashes small
// enough for Redis's compact encoding (src/redis/keys.ts).
import { randomFillSync } from 'node:crypto';

/**
 * Buckets per line. A buyer's record and their user entry share the bucket of their user id, so a
 * join finds a returning user and their last record in one declared key. Two entries per buyer
 * and Redis's default hash-max-listpack-entries of 128: a bucket stays compact up to 64 buyers, a
 * line up to 131,072 (raise hash-max-listpack-entries for bigger lines).
 */
export const LINE_BUCKETS = 2048;

export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{22}\\.[1-9][0-9]{0,14}\\.(0|[1-9][0-9]{0,3})$';

/** The token's parts: its secret (what the line stores), its ticket type, its bucket. */
export interface TokenParts {
  secret: string;
  ticketTypeId: number;
  bucket: number;
}

// Tokens are cut from a pool the CSPRNG refills 256 tokens at a time, each slice used once: one
// call into OpenSSL per 256 joins instead of one per join (2.5% of a joining process's CPU).
const TOKEN_BYTES = 16;
const pool = Buffer.alloc(TOKEN_BYTES * 256);
let used = pool.length;

/**
 * The bucket of a user id: 32-bit FNV-1a of its UTF-16 code units, modulo LINE_BUCKETS. Part of
 * the stored layout: changing it would lose every user entry of every live line.
 */
export function userBucket(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % LINE_BUCKETS;
}

export function newToken(ticketTypeId: number, userId: string): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += TOKEN_BYTES;
  return `${pool.toString('base64url', used - TOKEN_BYTES, used)}.${ticketTypeId}.${userBucket(userId)}`;
}

/** The parts of a well-formed token (TOKEN_PATTERN). */
export function parseToken(token: string): TokenParts {
  const [secret = '', ticketTypeId, bucket] = token.split('.');
  return { secret, ticketTypeId: Number(ticketTypeId), bucket: Number(bucket) };
}

/** The ticket type a well-formed token belongs to. */
export function tokenTicketType(token: string): number {
  return parseToken(token).ticketTypeId;
}

/** The full token of a secret kept in bucket `bucket` of the line of `ticketTypeId`. */
export function tokenOf(ticketTypeId: number, bucket: number, secret: string): string {
  return `${secret}.${ticketTypeId}.${bucket}`;
}
