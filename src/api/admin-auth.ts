// The admin routes' guard: a bearer token compared in constant time, 403 while the admin API is off.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import { adminDisabled, unauthorized } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** An onRequest hook for the plugins that hold admin routes. */
export function adminAuth(adminToken: string): onRequestAsyncHookHandler {
  const expected = adminToken ? digest(adminToken) : undefined;
  return async (req) => {
    if (!expected) throw adminDisabled();
    const [scheme, given] = (req.headers.authorization ?? '').split(' ');
    // Digests have equal length, so the comparison takes the same time whatever was sent.
    if (scheme !== 'Bearer' || !given || !timingSafeEqual(digest(given), expected)) {
      throw unauthorized();
    }
  };
}
