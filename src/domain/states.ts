// States of one queue token (DESIGN.md). In Redis a token's record keeps a one-letter state.

export type TokenStatus = 'pending' | 'reserved' | 'confirmed' | 'expired' | 'cancelled' | 'sold_out';
export type HoldStatus = 'reserved' | 'confirmed' | 'expired' | 'cancelled';

export const TERMINAL: ReadonlySet<TokenStatus> = new Set(['confirmed', 'expired', 'cancelled', 'sold_out']);

/** A token's record in `queue:{id}:tokens`: `seq|quantity|state|user_id`. */
export interface TokenRecord {
  seq: number;
  quantity: number;
  /** P pending (in line or being admitted), R left the line with a hold, S sold out, C cancelled while pending. */
  state: 'P' | 'R' | 'S' | 'C';
  userId: string;
}

export function parseRecord(raw: string): TokenRecord {
  const [seq, quantity, state, ...user] = raw.split('|');
  return { seq: Number(seq), quantity: Number(quantity), state: state as TokenRecord['state'], userId: user.join('|') };
}
