// The pre-queue's draw exactly as docs/fairness.md writes it down, and nothing else: the secret's
// commitment, the entries' digest, the seed and the order. scripts/verify-draw.ts recomputes the
// same with code of its own, so that a buyer need not trust this file.
import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * A join's public entry id: the first 128 bits of HMAC-SHA256(a server secret, token), lowercase
 * hex. Derived, not stored (no Redis bytes per buyer); distinct from the token, which it does not
 * reveal; as unpredictable as a random id to anyone without the secret.
 */
export function entryId(entrySecret: Buffer, token: string): string {
  return createHmac('sha256', entrySecret).update(token).digest('hex').slice(0, 32);
}

/** What the server derives entry ids with (src/sale/signer.ts deriveSecret). */
export const ENTRY_ID_PURPOSE = 'boxoffice entry ids v1';

/** A new draw secret S: 32 random bytes. */
export function newDrawSecret(): Buffer {
  return randomBytes(32);
}

/** C = hex(SHA-256(S)), published when the pre-queue is scheduled. */
export function drawCommitment(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** D = hex(SHA-256(the entry ids sorted ascending, joined by "\n")). */
export function entriesDigest(sortedEntryIds: readonly string[]): string {
  const hash = createHash('sha256');
  sortedEntryIds.forEach((id, i) => hash.update(i ? `\n${id}` : id));
  return hash.digest('hex');
}

/** seed = HMAC-SHA256(key = S, message = D), as bytes. */
export function drawSeed(secret: Buffer, digest: string): Buffer {
  return createHmac('sha256', secret).update(digest).digest();
}

/** An entry's key: hex(HMAC-SHA256(key = seed, message = entry_id)). */
export function drawKey(seed: Buffer, entryId: string): string {
  return createHmac('sha256', seed).update(entryId).digest('hex');
}

export interface Draw {
  entriesDigest: string;
  seed: string;
  /** The entry ids in draw order (ascending key). */
  order: string[];
}

/** Keys computed between two calls of draw()'s `pause`, so that a caller can do other work (renew a lease). */
const SLICE = 50_000;

/**
 * The draw of `entryIds` (any order, no duplicates) under the secret S. Keys are distinct 256-bit
 * values, so sorting `key + entry_id` strings sorts by key (and lets the engine sort natively,
 * about ten times faster than sorting indexes with a comparator at a million entries).
 */
export async function draw(secret: Buffer, entryIds: readonly string[], pause: () => Promise<void> = async () => undefined): Promise<Draw> {
  const sorted = [...entryIds].sort();
  await pause();
  const digest = entriesDigest(sorted);
  const seed = drawSeed(secret, digest);
  const keyed: string[] = new Array(entryIds.length);
  for (let i = 0; i < entryIds.length; i++) {
    keyed[i] = drawKey(seed, entryIds[i]!) + entryIds[i];
    if (i % SLICE === SLICE - 1) await pause();
  }
  await pause();
  keyed.sort();
  return { entriesDigest: digest, seed: seed.toString('hex'), order: keyed.map((k) => k.slice(64)) };
}
