// ALTCHA solutions spent, shared by every process: a solution is accepted once (src/sale/challenges.ts).
import type { RedisClient } from './client.ts';

/** Marks the challenge `nonce` as used until it expires; false when it had been used already. */
export async function spendChallenge(redis: RedisClient, key: string, ttlMs: number): Promise<boolean> {
  return (await redis.set(key, '1', 'PX', Math.max(1, ttlMs), 'NX')) === 'OK';
}
