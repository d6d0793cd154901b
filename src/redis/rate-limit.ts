// Fixed-window rate limit counters shared by every process (src/api/security.ts).
import type { RedisClient } from './client.ts';

/** Counts one request against the window of `key`: requests in the current window and milliseconds until it ends. */
export async function countHit(redis: RedisClient, key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
  const [count, ttlMs] = await redis.countHit(key, windowMs);
  return { count, ttlMs };
}
