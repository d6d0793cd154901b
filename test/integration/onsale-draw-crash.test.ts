// kill -9 of the worker placing a pre-queue in its line, mid-placement (issue 13): the other worker
// takes the line over once the lease runs out, resumes from the count Redis placed, and every entry
// ends in the line exactly once, in draw order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStockInvariants } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice, type BoxofficeProcess } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';

const ENTRIES = 100_000;

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

test('draw.kill-9-of-the-placing-worker-leaves-every-entry-placed-exactly-once', { timeout: 180_000 }, async (t) => {
  t.after(killAll);
  const event = await h.sale.createEvent({ name: 'Crash draw', starts_at: new Date(Date.now() + 86_400_000).toISOString() });
  const farAway = Date.now() + 3_600_000;
  const { id: tt } = await h.sale.addTicketType(event.id, {
    name: 'Drawn', price: '1.00', capacity: ENTRIES, max_per_order: 1,
    prequeue_opens_at: new Date(Date.now() - 1_000).toISOString(), sale_starts_at: new Date(farAway).toISOString(),
  });
  // The pre-queue filled straight through the join script: receipts are not what this test is about.
  const tokens: string[] = [];
  for (let i = 0; i < ENTRIES; i += 2_000) {
    const joined = await Promise.all(Array.from({ length: Math.min(2_000, ENTRIES - i) }, (_, j) =>
      h.ctx.lines.join(tt, { userId: `entry-${i + j}`, quantity: 1, prequeueUntilMs: farAway })));
    for (const o of joined) {
      assert.equal(o.kind, 'prequeued');
      if (o.kind === 'prequeued') tokens.push(o.token);
    }
  }

  const worker = { role: 'worker', env: configEnv(h.config) } as const;
  const workers: BoxofficeProcess[] = await Promise.all([startBoxoffice(worker), startBoxoffice(worker)]);
  const k = h.ctx.keys.line(tt);
  await h.sale.changeTicketType(tt, { sale_starts_at: new Date(Date.now() + 1_000).toISOString() });

  const placedAtKill = await waitFor('placement to begin', async () => Number(await h.ctx.redis.hget(k.draw, 'placed')) || undefined,
    { timeoutMs: 30_000, intervalMs: 2 });
  const owner = await h.ctx.redis.get(k.lease);
  const victim = workers.find((w) => owner?.includes(`:${w.pid}:`));
  assert.ok(victim, `the lease (${owner}) belongs to a worker`);
  await victim.kill9();
  const placedAfterKill = Number(await h.ctx.redis.hget(k.draw, 'placed'));
  assert.ok(placedAfterKill < ENTRIES, `the kill landed mid-placement (${placedAtKill} placed when seen, ${placedAfterKill} after the kill)`);

  await waitFor('the survivor to place the rest', async () => (await h.ctx.redis.hget(k.draw, 'state')) === 'placed', { timeoutMs: 60_000 });
  const survivor = workers.find((w) => w !== victim)!;
  // Logged once the draw's record says placed, a moment after Redis does.
  const resumed = await waitFor(`the survivor's report of the placement:\n${survivor.tail()}`,
    () => survivor.lines.find((l) => l.includes('pre-queue drawn into the line')), { timeoutMs: 10_000 });
  assert.ok(JSON.parse(resumed).resumedFrom > 0, `the survivor resumed where the victim stopped: ${resumed}`);

  await waitFor('every entry held', async () => (await h.ctx.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM reservations WHERE ticket_type_id = $1', [tt])).rows[0]!.n === ENTRIES, { timeoutMs: 90_000 });
  const { order } = (await (await h.app()).inject(`/ticket-types/${tt}/draw`)).json() as { order: string[] };
  const tokenOf = new Map(tokens.map((token) => [h.sale.entryId(token), token]));
  const { rows } = await h.ctx.db.query<{ token: string }>('SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
  assert.equal(order.length, ENTRIES);
  assert.deepEqual(rows.map((r) => r.token), order.map((id) => tokenOf.get(id)), 'every entry held once, in draw order');
  const line = await assertLineInvariants(h.ctx, tt);
  assert.equal(line.served, ENTRIES, 'each entry left the line exactly once');
  await assertStockInvariants(h.ctx.db);
});
