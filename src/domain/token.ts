// A queue token is the only credential for its reservation (I5): 128 random bits, base64url,
// followed by the ticket type id. The suffix is public routing data, not secret: it lets a status
// lookup go straight to the ticket type's Redis slot without a per-token key (about 90 bytes
// saved per waiting buyer).
import { randomBytes } from 'node:crypto';

export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{22}\\.[1-9][0-9]{0,14}$';

export function newToken(ticketTypeId: number): string {
  return `${randomBytes(16).toString('base64url')}.${ticketTypeId}`;
}

/** The ticket type a well-formed token belongs to. */
export function tokenTicketType(token: string): number {
  return Number(token.slice(token.indexOf('.') + 1));
}
