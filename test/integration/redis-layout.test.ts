// Issue 15: a line's buyers live in buckets small enough for Redis's compact hash encoding
// (src/redis/keys.ts), which is what keeps a waiting buyer near 100 bytes (`npm run bench --
// status` measures it). The layout assumes Redis's default encoding limits, which fit user ids up
// to 24 bytes (COMPACT_HASH in src/redis/line-store.ts), and a process says so at start when the
// server's are lower.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { configEnv, startBoxoffice } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';
import { LINE_BUCKETS } from '../../src/domain/token.ts';
import { createContext } from '../../src/context.ts';

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

test('layout.every-bucket-of-a-long-line-stays-compact', { timeout: 120_000 }, async () => {
  const tt = await h.ticketType(1);
  await h.ctx.lines.pause(tt);
  const BUYERS = 40_000;
  for (let i = 0; i < BUYERS; i += 2_000) {
    const joined = await Promise.all(Array.from({ length: 2_000 }, (_, j) =>
      h.ctx.lines.join(tt, { userId: `buyer-${i + j}@example.com`, quantity: 1 })));
    assert.ok(joined.every((o) => o.kind === 'joined'));
  }
  const k = h.ctx.keys.line(tt);
  const encodings = await Promise.all(Array.from({ length: LINE_BUCKETS }, (_, n) => h.ctx.redis.object('ENCODING', k.bucket(n))));
  const counts = new Map<unknown, number>();
  for (const e of encodings) counts.set(e, (counts.get(e) ?? 0) + 1);
  assert.deepEqual([...counts], [['listpack', LINE_BUCKETS]], 'every bucket holds its buyers in a listpack');
  const { records, queue } = await h.ctx.lines.snapshot(tt);
  assert.equal(records.size, BUYERS);
  assert.equal(queue.length, BUYERS);
  assert.ok(queue.every((token) => records.get(token)?.state === 'P'), 'every entry of the line names its buyer\'s record');
});

test('layout.a-process-warns-at-start-when-redis-hash-limits-are-lower', { timeout: 60_000 }, async () => {
  const redis: RedisServer = await startRedisServer({ appendonly: false });
  const admin = new Redis(redis.url);
  const ctx = createContext({ ...h.config, REDIS_URL: redis.url }, h.ctx.log);
  try {
    assert.deepEqual(await ctx.lines.encodingProblems(), [], 'Redis\'s defaults are what the layout assumes');
    await admin.config('SET', 'hash-max-listpack-entries', '32');
    const problems = await ctx.lines.encodingProblems();
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /hash-max-listpack-entries is 32, below the 128/);

    const proc = await startBoxoffice({ role: 'api', env: { ...configEnv(h.config), REDIS_URL: redis.url } });
    try {
      await waitFor('the warning in the start log', () => proc.lines.some((line) => line.includes('hash-max-listpack-entries is 32')));
      assert.ok(proc.lines.some((line) => JSON.parse(line).level === 40 && line.includes('hash-max-listpack-entries')), 'logged as a warning');
    } finally {
      await proc.stop();
    }
  } finally {
    await ctx.close();
    admin.disconnect();
    await redis.close();
  }
});
