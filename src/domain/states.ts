// States of one queue token (DESIGN.md). In Redis a token's record keeps a one-letter state.

export type TokenStatus = 'pending' | 'reserved' | 'confirmed' | 'expired' | 'cancelled' | 'sold_out';
export type HoldStatus = 'reserved' | 'confirmed' | 'expired' | 'cancelled';

export const TERMINAL: ReadonlySet<TokenStatus> = new Set(['confirmed', 'expired', 'cancelled', 'sold_out']);

/**
 * A token's record in `queue:{id}:tokens`: `seq|quantity|state|user_id`, where a hold's state
 * carries its end in epoch milliseconds (`R1764300000000`).
 */
export interface TokenRecord {
  seq: number;
  quantity: number;
  /**
   * P pending (in line or being admitted), R holding until `holdEndsMs`, E the hold ended
   * (PostgreSQL says how), S sold out, C cancelled while pending.
   */
  state: 'P' | 'R' | 'E' | 'S' | 'C';
  holdEndsMs?: number;
  userId: string;
}

export function parseRecord(raw: string): TokenRecord {
  const [seq, quantity, state = '', ...user] = raw.split('|');
  const record: TokenRecord = { seq: Number(seq), quantity: Number(quantity), state: state[0] as TokenRecord['state'], userId: user.join('|') };
  if (state.length > 1) record.holdEndsMs = Number(state.slice(1));
  return record;
}
