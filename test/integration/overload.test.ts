// Issue 15: more joins than the process can answer at once are shed, not queued: past
// MAX_CONCURRENT_JOINS (or, when set, MAX_EVENT_LOOP_DELAY_MS) a join is refused at once with 503,
// Retry-After and the JSON error, and changes nothing, so a buyer who comes back after Retry-After
// gets in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../support/wait.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';

type App = Awaited<ReturnType<Harness['app']>>;
type Reply = Awaited<ReturnType<App['inject']>>;

const BUYERS = 200;
const MAX_JOINS = 4;

let h: Harness;
let app: App;
before(async () => {
  h = await createHarness({
    JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', MAX_CONCURRENT_JOINS: String(MAX_JOINS), OVERLOAD_RETRY_AFTER_SECONDS: '1',
  });
  app = await h.app();
});
after(() => h.close());

const join = (user: string, tt: number) => app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: user, ticket_type_id: tt } });

function assertShed(res: Reply): void {
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.headers['retry-after'], '1');
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.json().error.code, 'overloaded');
  assert.equal(typeof res.json().error.message, 'string');
}

test('overload.joins-past-the-limit-are-refused-with-retry-after-change-nothing-and-get-in-on-retry', async () => {
  const tt = await h.ticketType(1_000);
  const users = Array.from({ length: BUYERS }, (_, i) => `buyer-${i}`);
  const first = await Promise.all(users.map((u) => join(u, tt)));
  const refused = users.filter((_, i) => first[i]!.statusCode !== 202);
  assert.ok(refused.length > 0, 'a burst of 200 joins with 4 allowed in flight was not shed');
  assert.ok(refused.length <= BUYERS - MAX_JOINS, `only ${BUYERS - refused.length} joins were accepted`);
  for (const [i, res] of first.entries()) if (res.statusCode !== 202) assertShed(first[i]!);

  // Nothing of a refused join reached the line: it holds the accepted ones alone.
  const line = h.ctx.keys.line(tt);
  assert.equal(await h.ctx.redis.llen(line.queue), BUYERS - refused.length);
  assert.equal(Number(await h.ctx.redis.get(line.seq)), BUYERS - refused.length);

  // Every refused buyer comes back after Retry-After plus up to as much again at random, as the
  // buyer's page does, until in line.
  const comeBack = async (user: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 20; attempt++) {
      await sleep(1_000 * (1 + Math.random()));
      const res = await join(user, tt);
      if (res.statusCode === 202) return true;
      assertShed(res);
    }
    return false;
  };
  const gotIn = await Promise.all(refused.map(comeBack));
  const waiting = refused.filter((_, i) => !gotIn[i]);
  assert.deepEqual(waiting, [], 'every buyer who retried got in');
  assert.equal(await h.ctx.redis.llen(line.queue), BUYERS);
});

test('overload.a-join-answered-with-an-error-frees-its-place', async () => {
  const tt = await h.ticketType(10);
  for (let i = 0; i < MAX_JOINS * 3; i++) {
    const bad = await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: '', ticket_type_id: tt } });
    assert.equal(bad.statusCode, 400);
    assert.equal((await join(`late-${i}`, 999_999)).statusCode, 404);
  }
  const ok = await Promise.all(Array.from({ length: MAX_JOINS }, (_, i) => join(`fits-${i}`, tt)));
  assert.deepEqual(ok.map((r) => r.statusCode), Array(MAX_JOINS).fill(202));
});

test('overload.a-blocked-event-loop-sheds-joins-until-it-recovers', async () => {
  const slow = await createHarness({ JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', MAX_EVENT_LOOP_DELAY_MS: '20', OVERLOAD_RETRY_AFTER_SECONDS: '1' });
  after(() => slow.close());
  const busy = await slow.app();
  const tt = await slow.ticketType(10);
  const joinBusy = (user: string) => busy.inject({ method: 'POST', url: '/queue/join', payload: { user_id: user, ticket_type_id: tt } });
  // Starting the app kept the loop busy too: once it is quiet, joins go through.
  await waitFor('a quiet loop that lets a join in', async () => (await joinBusy('before')).statusCode === 202, { timeoutMs: 5_000, intervalMs: 50 });

  // 200 ms of synchronous work before each try: the plugin's next reading, due meanwhile, finds a
  // mean delay far past 20 ms. The refusal lasts until the reading after it (50 ms), which a
  // loaded machine may let pass before the join is read: then the next try blocks again. Joins
  // read before that reading still go through; each buyer tries once.
  let accepted = 1;
  let buyer = 0;
  const refused = await waitFor('a join refused for the event loop delay', async () => {
    const until = Date.now() + 200;
    while (Date.now() < until);
    const res = await joinBusy(`during-${buyer++}`);
    if (res.statusCode === 202) accepted++;
    return res.statusCode === 503 ? res : undefined;
  }, { timeoutMs: 5_000, intervalMs: 2 });
  assertShed(refused);
  assert.equal(await slow.ctx.redis.llen(slow.ctx.keys.line(tt).queue), accepted, 'the refused join is not in line');
  const refusedBuyer = `during-${buyer - 1}`;
  await waitFor('the loop to recover and the refused buyer to get in', async () => (await joinBusy(refusedBuyer)).statusCode === 202, { timeoutMs: 5_000, intervalMs: 50 });
});
