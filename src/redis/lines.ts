// The Redis side of a line, shared by the API and the engine: each function is one round trip.
import { parseRecord, type TokenRecord, type HoldStatus } from '../domain/states.ts';
import { execPipeline, type RedisClient } from './client.ts';
import type { Keys } from './keys.ts';

export interface JoinResult {
  created: boolean;
  token: string;
  state: 'P' | 'R';
  position: number;
  quantity: number;
}

export interface JoinOptions {
  /** The user's previous token, whose hold has ended: replaced only while it is still the user's token. */
  replacing?: string;
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
  return (await runJoin(redis, keys, ticketTypeId, token, userId, quantity, options, false))!;
}

/**
 * As joinLine, but a user who joined this line before and has no live token is not joined:
 * undefined tells the caller to count their tickets in PostgreSQL first (the per-user cap), then
 * call joinLine.
 */
export async function joinLineUnlessReturning(
  redis: RedisClient,
  keys: Keys,
  ticketTypeId: number,
  token: string,
  userId: string,
  quantity: number,
): Promise<JoinResult | undefined> {
  return runJoin(redis, keys, ticketTypeId, token, userId, quantity, {}, true);
}

async function runJoin(
  redis: RedisClient,
  keys: Keys,
  ticketTypeId: number,
  token: string,
  userId: string,
  quantity: number,
  options: JoinOptions,
  stopIfReturning: boolean,
): Promise<JoinResult | undefined> {
  const k = keys.line(ticketTypeId);
  const reply = await redis.join(k.queue, k.seq, k.served, k.users, k.tokens, k.awake, k.joined,
    token, userId, quantity, keys.wakeChannel, ticketTypeId, options.replacing ?? '', stopIfReturning ? '1' : '0');
  if (reply[0] === 2) return undefined;
  if (reply[0] === 1) {
    // Only a line that was idle needs adding to the processor's work list (a busy one is on it
    // until it runs empty), so a join that changes nothing leaves Redis untouched.
    if (reply[4] === 1) await redis.sadd(keys.active, ticketTypeId);
    return { created: true, token, state: 'P', position: Number(reply[2]), quantity };
  }
  return {
    created: false,
    token: reply[1],
    state: reply[2] as 'P' | 'R',
    position: Number(reply[3]),
    quantity: Number(reply[4]),
  };
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

/** The fast copy of a hold, kept for the hold's life (the original's `reservation:<token>`). */
export interface HoldCache {
  status: HoldStatus;
  expires_at: string;
  booking_id?: string;
}

export async function readHoldCache(redis: RedisClient, keys: Keys, token: string): Promise<HoldCache | undefined> {
  const hash = await redis.hgetall(keys.reservation(token));
  return hash.status ? (hash as unknown as HoldCache) : undefined;
}

/** Cancels a pending token; returns the state it had (P when this call cancelled it). */
export async function cancelPending(redis: RedisClient, keys: Keys, ticketTypeId: number, token: string) {
  const k = keys.line(ticketTypeId);
  const state = await redis.cancel(k.tokens, k.users, k.served, token, k.events);
  return (state ?? undefined) as TokenRecord['state'] | undefined;
}

/**
 * After holds ended in PostgreSQL: frees their users to join again, publishes the change, drops or
 * updates the fast copies and wakes the processor (stock came back, or what may come back shrank).
 */
export async function releaseHolds(
  redis: RedisClient,
  keys: Keys,
  ticketTypeId: number,
  status: Exclude<HoldStatus, 'reserved'>,
  tokens: string[],
  bookingId?: number,
): Promise<void> {
  if (!tokens.length) return;
  const k = keys.line(ticketTypeId);
  const pipeline = redis.pipeline();
  for (const token of tokens) {
    if (status === 'confirmed') {
      pipeline.hset(keys.reservation(token), { status, booking_id: String(bookingId) });
    } else {
      pipeline.del(keys.reservation(token));
    }
  }
  (pipeline as unknown as RedisClient).release(k.users, k.tokens, k.events, status, ...tokens);
  pipeline.publish(keys.wakeChannel, String(ticketTypeId));
  await execPipeline(pipeline);
}
