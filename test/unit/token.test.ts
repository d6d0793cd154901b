// Tokens (src/domain/token.ts): 128 random bits and public routing data, and the user's bucket
// that the stored layout depends on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINE_BUCKETS, newToken, parseToken, TOKEN_PATTERN, tokenOf, userBucket } from '../../src/domain/token.ts';

test('token.carries-its-ticket-type-and-the-users-bucket', () => {
  const token = newToken(42, 'ada@example.com');
  assert.match(token, new RegExp(TOKEN_PATTERN));
  const { secret, ticketTypeId, bucket } = parseToken(token);
  assert.equal(Buffer.from(secret, 'base64url').length, 16, '128 random bits');
  assert.equal(ticketTypeId, 42);
  assert.equal(bucket, userBucket('ada@example.com'));
  assert.equal(tokenOf(ticketTypeId, bucket, secret), token);
  assert.notEqual(newToken(42, 'ada@example.com'), token, 'a new secret every time');
});

test('token.user-buckets-are-stable-and-spread-evenly', () => {
  // Part of the stored layout: a change would lose the user entries of every live line.
  assert.deepEqual([userBucket('ada@example.com'), userBucket('buyer-1'), userBucket('')], [2002, 1898, 1477]);
  const counts = new Array<number>(LINE_BUCKETS).fill(0);
  for (let i = 0; i < 100 * LINE_BUCKETS; i++) counts[userBucket(`buyer-${i}`)]!++;
  assert.ok(Math.max(...counts) < 150 && Math.min(...counts) > 50, `buckets from ${Math.min(...counts)} to ${Math.max(...counts)} users, 100 expected`);
});
