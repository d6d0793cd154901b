// Issue 12: many lines at once on a 3-master Redis Cluster. 30 ticket types whose lines' slots
// cover all three masters, 2 API and 3 worker processes, 5,000 buyers joining over HTTP, 200 at a
// time, spread over the lines. Once admission has run: I1-I6 on every line, holds granted per line
// in join order, and every acknowledged join (202) still known to the status route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertJoinOrder, assertLineInvariants, assertStatusesAgree, assertStockInvariants, lineCounters } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice } from '../../support/processes.ts';
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.ts';
import { waitFor } from '../../support/wait.ts';

const LINES = 30;
const BUYERS = 5_000;
const CONCURRENCY = 200;

let cluster: RedisCluster;
let h: Harness;
before(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  process.once('exit', () => cluster.closeNow());
  h = await createHarness({ REDIS_CLUSTER_NODES: cluster.seeds });
});
after(async () => {
  await h.close();
  await cluster.close();
});

/** Runs `count` tasks, `concurrency` at a time, in index order of their start. */
async function bounded<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  }));
  return results;
}

test('cluster.many-lines-30-lines-over-3-shards-2-apis-3-workers-5000-buyers-keep-i1-i6-and-fifo', { timeout: 180_000 }, async (t) => {
  t.after(killAll);
  // Capacities from 100 to 240 against about 167 buyers a line: some lines serve everyone, the
  // others run out of stock with holds outstanding, so their rest must stay pending (I6).
  const ticketTypes: { id: number; capacity: number }[] = [];
  for (let i = 0; i < LINES; i++) {
    const capacity = 100 + (i % 8) * 20;
    ticketTypes.push({ id: await h.ticketType(capacity, 1), capacity });
  }
  const masters = await cluster.masters();
  const owners = await Promise.all(ticketTypes.map(({ id }) => cluster.masterOf(h.ctx.keys.line(id).queue)));
  assert.deepEqual(new Set(owners), new Set(masters), `the lines' slots cover all ${masters.length} masters: ${owners.join(',')}`);

  const env = { ...configEnv(h.config), JOIN_LIMIT_PER_IP: '0' };
  const apis = await Promise.all([startBoxoffice({ role: 'api', env }), startBoxoffice({ role: 'api', env })]);
  await Promise.all([0, 1, 2].map(() => startBoxoffice({ role: 'worker', env })));

  const started = performance.now();
  const joins = await bounded(BUYERS, CONCURRENCY, async (i) => {
    const tt = ticketTypes[i % LINES]!.id;
    const res = await fetch(`${apis[i % 2]!.url}/queue/join`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: `buyer-${i}`, ticket_type_id: tt }),
    });
    const body = await res.json() as { queue_token?: string };
    return { tt, status: res.status, token: body.queue_token };
  });
  const joinSeconds = (performance.now() - started) / 1000;
  const refused = joins.filter((j) => j.status !== 202);
  assert.deepEqual(refused.map((j) => j.status), [], 'every join is acknowledged');

  // At rest: no batch in flight, no processor on the line, and either nobody waits or no stock is
  // left (every buyer asks for one ticket, so a waiting head means stock 0).
  await waitFor('every line at rest', async () => {
    for (const { id } of ticketTypes) {
      const c = await lineCounters(h.ctx, id);
      const { rows } = await h.ctx.db.query<{ available: number }>('SELECT quantity_available AS available FROM ticket_types WHERE id = $1', [id]);
      if (c.processing || (c.queued && rows[0]!.available) || (await h.ctx.lines.leaseRemainingMs(id)) !== -2) return false;
    }
    return true;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const admittedSeconds = (performance.now() - started) / 1000;

  await assertStockInvariants(h.ctx.db);
  let held = 0;
  for (const { id, capacity } of ticketTypes) {
    const line = await assertLineInvariants(h.ctx, id);
    await assertStatusesAgree(h.ctx, id, line);
    const acknowledged = joins.filter((j) => j.tt === id).map((j) => j.token!);
    assert.deepEqual(new Set(line.records.keys()), new Set(acknowledged), `line ${id}: its records are exactly its acknowledged joins`);
    // FIFO: the holds are the first buyers by join order (seq), granted in that order.
    const bySeq = acknowledged.sort((a, b) => line.records.get(a)!.seq - line.records.get(b)!.seq);
    assert.equal(line.holds.length, Math.min(capacity, acknowledged.length), `line ${id}: holds`);
    assertJoinOrder(bySeq.slice(0, line.holds.length), line.holds.map((hold) => hold.token));
    held += line.holds.length;
  }
  // Every acknowledged join answers through either API process, none with 404.
  const statuses = await bounded(BUYERS, CONCURRENCY, async (i) => {
    const res = await fetch(`${apis[(i + 1) % 2]!.url}/reservation/status?token=${encodeURIComponent(joins[i]!.token!)}`);
    return res.status === 200 ? (await res.json() as { status: string }).status : String(res.status);
  });
  const counts = Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]));
  assert.deepEqual(Object.keys(counts).sort(), ['pending', 'reserved'], `statuses: ${JSON.stringify(counts)}`);
  assert.equal(counts.reserved, held);
  console.log(`# ${BUYERS} joins over ${LINES} lines in ${joinSeconds.toFixed(1)} s, all admitted ${admittedSeconds.toFixed(1)} s after the first; ${held} held, ${counts.pending} pending`);
});
