// A queue token is the only credential for its reservation (I5): 128 random bits, base64url,
// followed by the ticket type id. The suffix is public routing data, not secret: it lets a status
// lookup go straight to the ticket type's Redis slot without a per-token key (about 90 bytes
// saved per waiting buyer).
import { randomFillSync } from 'node:crypto';

export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{22}\\.[1-9][0-9]{0,14}$';

// Tokens are cut from a pool the CSPRNG refills 256 tokens at a time, each slice used once: one
// call into OpenSSL per 256 joins instead of one per join (2.5% of a joining process's CPU).
const TOKEN_BYTES = 16;
const pool = Buffer.alloc(TOKEN_BYTES * 256);
let used = pool.length;

export function newToken(ticketTypeId: number): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += TOKEN_BYTES;
  return `${pool.toString('base64url', used - TOKEN_BYTES, used)}.${ticketTypeId}`;
}

/** The ticket type a well-formed token belongs to. */
export function tokenTicketType(token: string): number {
  return Number(token.slice(token.indexOf('.') + 1));
}
