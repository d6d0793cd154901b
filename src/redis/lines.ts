// The Redis side of a line, shared by the API and the engine: each function is one round trip.
import { parseRecord, type TokenRecord, type HoldStatus } from '../domain/states.ts';
import { execPipeline, type RedisClient } from './client.ts';
import type { Keys } from './keys.ts';

export interface JoinResult {
  created: boolean;
  token: string;
  /** P pending, R holding tickets, ended: a returning user's last token ended. */
  state: 'P' | 'R' | 'ended';
  position: number;
  quantity: number;
  /** While R: when the hold runs out (ISO 8601). */
  holdEndsAt?: string;
}

export interface JoinOptions {
  /** The user's previous token, whose hold has ended: replaced only while it is still the user's token. */
  replacing?: string;
  /**
   * Do not join a user who joined this line before and has no live token: state 'ended' tells the
   * caller to count their tickets in PostgreSQL first (the per-user cap), then join replacing it.
   */
  stopIfReturning?: boolean;
}

export async function joinLine(
  redis: RedisClient,
  keys: Keys,
  ticketTypeId: number,
  token: string,
  userId: string,
  quantity: number,
  options: JoinOptions = {},
): Promise<JoinResult> {
  const k = keys.line(ticketTypeId);
  const reply = await redis.join(k.queue, k.seq, k.served, k.users, k.tokens, k.awake,
    token, userId, quantity, keys.wakeChannel, ticketTypeId, options.replacing ?? '', options.stopIfReturning ? '1' : '0');
  if (reply[0] === 2) return { created: false, token: reply[1], state: 'ended', position: 0, quantity };
  if (reply[0] === 1) {
    // Only a line that was idle needs adding to the processor's work list (a busy one is on it
    // until it runs empty), so a join that changes nothing leaves Redis untouched.
    if (reply[4] === 1) await redis.sadd(keys.active, ticketTypeId);
    return { created: true, token, state: 'P', position: Number(reply[2]), quantity };
  }
  const existing = { created: false, token: reply[1], quantity: Number(reply[4]) };
  return reply[2] === 'R'
    ? { ...existing, state: 'R', position: 0, holdEndsAt: new Date(Number(reply[3])).toISOString() }
    : { ...existing, state: 'P', position: Number(reply[3]) };
}

export interface LineStatus {
  record: TokenRecord;
  served: number;
}

export async function readLineStatus(redis: RedisClient, keys: Keys, ticketTypeId: number, token: string) {
  const k = keys.line(ticketTypeId);
  const [raw, served] = await redis.lineStatus(k.tokens, k.served, token);
  return raw ? { record: parseRecord(raw), served: Number(served) } : undefined;
}

/** Cancels a pending token; returns the state it had (P when this call cancelled it). */
export async function cancelPending(redis: RedisClient, keys: Keys, ticketTypeId: number, token: string) {
  const k = keys.line(ticketTypeId);
  const state = await redis.cancel(k.tokens, k.served, token, k.events);
  return (state ?? undefined) as TokenRecord['state'] | undefined;
}

/**
 * After holds ended in PostgreSQL: marks their records ended (status then reads PostgreSQL, the
 * truth), publishes the change and wakes the processor (stock came back, or what may come back
 * shrank).
 */
export async function releaseHolds(
  redis: RedisClient,
  keys: Keys,
  ticketTypeId: number,
  status: Exclude<HoldStatus, 'reserved'>,
  tokens: string[],
): Promise<void> {
  if (!tokens.length) return;
  const k = keys.line(ticketTypeId);
  const pipeline = redis.pipeline();
  (pipeline as unknown as RedisClient).endHolds(k.tokens, ...tokens);
  pipeline.publish(k.events, JSON.stringify({ changes: Object.fromEntries(tokens.map((t) => [t, status])) }));
  pipeline.publish(keys.wakeChannel, String(ticketTypeId));
  await execPipeline(pipeline);
}
