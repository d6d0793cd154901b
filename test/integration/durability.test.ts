// Issue 10: what a join acknowledgement survives, measured. A private Redis with AOF is killed
// (kill -9) while joins pour in, then restarted; every acknowledged (202) join is looked for.
// With appendfsync always, Redis writes and fsyncs the join before it replies: none may be lost.
// With everysec it writes it to the kernel before replying (fsync follows within a second): a
// killed process loses only what a stalled disk kept it from writing, and the figure is reported
// rather than asserted; what a host crash (power loss) can take, up to about a second of joins, no
// process kill can show.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants } from '../../support/invariants.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { waitFor } from '../../support/wait.ts';

const CLIENTS = 50;
/** Acknowledged joins before the kill, which lands while the clients keep joining. */
const BEFORE_KILL = 500;

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function killMidStorm(appendfsync: 'always' | 'everysec'): Promise<{ acknowledged: number; lost: number }> {
  const redis: RedisServer = await startRedisServer({ appendfsync });
  closers.push(() => redis.close());
  const h: Harness = await createHarness({ REDIS_URL: redis.url, JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0' });
  closers.push(() => h.close());
  const app = await h.app();
  const tt = await h.ticketType(1_000_000);

  const acknowledged: string[] = [];
  let killed = false;
  let n = 0;
  const client = async () => {
    while (!killed) {
      const res = await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: `u${n++}`, ticket_type_id: tt } });
      if (res.statusCode === 202) acknowledged.push(res.json().queue_token);
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  try {
    await waitFor(`${BEFORE_KILL} joins acknowledged`, () => acknowledged.length >= BEFORE_KILL, { timeoutMs: 30_000 });
  } finally {
    killed = true;
  }
  await redis.stop('SIGKILL'); // joins in flight now fail, or were acknowledged just before
  await Promise.all(clients);
  await redis.start();

  const present = await h.ctx.lines.records(tt, acknowledged);
  const lost = acknowledged.filter((token) => !present.get(token)).length;
  console.log(`# appendfsync ${appendfsync}: ${acknowledged.length} joins acknowledged, kill -9 mid-storm, ${lost} lost after the restart`);
  // Whatever survived is a whole line: every record in it, once, in order (I2, I3).
  await assertLineInvariants(h.ctx, tt);
  return { acknowledged: acknowledged.length, lost };
}

test('durability.appendfsync-always-loses-no-acknowledged-join-to-a-kill', { timeout: 60_000 }, async () => {
  const { lost } = await killMidStorm('always');
  assert.equal(lost, 0);
});

test('durability.appendfsync-everysec-kill-reports-what-was-lost-and-keeps-a-whole-line', { timeout: 60_000 }, async () => {
  await killMidStorm('everysec');
});
