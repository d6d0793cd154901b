// The organiser's view of the lines and the pause switch of a sale.
//
// Pausing parks the processor lease of the ticket type with an owner no process has and no
// expiry: no processor can take the lease (lease-2.lua), and one that holds it at that moment
// finishes its batch in flight, then fails the owner check of its next take (take-6.lua) and
// stops. Buyers can still join; they wait in line. Resuming removes the parked lease and wakes
// the processors.
import { execPipeline, type RedisClient } from './client.ts';
import type { Keys } from './keys.ts';

const PAUSED_OWNER = 'paused';

export interface LineState {
  /** Buyers in line (cancelled ones are dropped when the line reaches them). */
  waiting: number;
  /** Buyers who have left the line so far. */
  served: number;
  paused: boolean;
}

export async function readLineStates(redis: RedisClient, keys: Keys, ticketTypeIds: number[]): Promise<LineState[]> {
  if (!ticketTypeIds.length) return [];
  const pipeline = redis.pipeline();
  for (const id of ticketTypeIds) {
    const k = keys.line(id);
    pipeline.llen(k.queue).get(k.served).get(k.lease);
  }
  const replies = await execPipeline(pipeline);
  return ticketTypeIds.map((_, i) => ({
    waiting: Number(replies[3 * i] ?? 0),
    served: Number(replies[3 * i + 1] ?? 0),
    paused: replies[3 * i + 2] === PAUSED_OWNER,
  }));
}

export async function pauseAdmission(redis: RedisClient, keys: Keys, ticketTypeId: number): Promise<void> {
  await redis.set(keys.line(ticketTypeId).lease, PAUSED_OWNER);
}

export async function resumeAdmission(redis: RedisClient, keys: Keys, ticketTypeId: number): Promise<void> {
  const pipeline = redis.pipeline();
  (pipeline as unknown as RedisClient).unlease(keys.line(ticketTypeId).lease, PAUSED_OWNER);
  pipeline.publish(keys.wakeChannel, String(ticketTypeId));
  await execPipeline(pipeline);
}
