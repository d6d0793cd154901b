// node --import tsx bench/experiments/token-random.ts
// The cost of a queue token's 128 random bits: crypto.randomBytes(16) per token (as newToken does)
// against slices of a pooled buffer filled by randomFillSync (the same CSPRNG).
import { randomBytes, randomFillSync } from 'node:crypto';

const TOKENS = 500_000;
let pool = Buffer.alloc(0);
let offset = 0;

function pooled(): string {
  if (offset + 16 > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(4096));
    offset = 0;
  }
  offset += 16;
  return pool.toString('base64url', offset - 16, offset);
}

for (let round = 0; round < 3; round++) {
  let started = performance.now();
  for (let i = 0; i < TOKENS; i++) randomBytes(16).toString('base64url');
  const perCall = ((performance.now() - started) * 1000) / TOKENS;
  started = performance.now();
  for (let i = 0; i < TOKENS; i++) pooled();
  const perPooled = ((performance.now() - started) * 1000) / TOKENS;
  console.log(`randomBytes(16): ${perCall.toFixed(2)} µs per token; pooled: ${perPooled.toFixed(2)} µs per token`);
}
