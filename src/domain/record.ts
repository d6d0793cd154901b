// A token's record in its line's bucket (src/redis/keys.ts), as TypeScript reads it. The Lua
// scripts read and write the same format through one definition,
// src/redis/scripts/includes/record.lua.

/**
 * `seq|quantity|state|rest|user_id`, stored under the first 8 characters of the token's secret;
 * `rest` is the secret's other 14. A hold's state carries its end in epoch milliseconds
 * (`R1764300000000`).
 */
export interface TokenRecord {
  seq: number;
  quantity: number;
  /**
   * P pending (in line or being admitted), R holding until `holdEndsMs`, E the hold ended
   * (PostgreSQL says how), S sold out, C cancelled while pending, Q in the pre-queue (seq 0 until
   * the draw places it in the line).
   */
  state: 'P' | 'R' | 'E' | 'S' | 'C' | 'Q';
  holdEndsMs?: number;
  /** The secret's characters after the field's 8. */
  rest: string;
  userId: string;
}

export function parseRecord(raw: string): TokenRecord {
  const [seq, quantity, state = '', rest = '', ...user] = raw.split('|');
  const record: TokenRecord = { seq: Number(seq), quantity: Number(quantity), state: state[0] as TokenRecord['state'], rest, userId: user.join('|') };
  if (state.length > 1) record.holdEndsMs = Number(state.slice(1));
  return record;
}

/** A buyer taken from the line for admission, in line order. */
export interface Candidate {
  token: string;
  userId: string;
  quantity: number;
}
