// Issue 12: failover mid-sale. A 3-master cluster with one replica per master; while buyers join a
// line through an API process and a worker admits them, the master that holds the line is killed
// (kill -9). Its replica is promoted after the cluster's node timeout (1 s here), and service
// resumes by itself: joins are acknowledged again and the worker admits again. Replication is
// asynchronous, so the promoted replica may lack the last writes its master acknowledged: what was
// lost is counted and reported. With REDIS_JOIN_WAIT_REPLICAS=1 a join is acknowledged only once
// WAIT says a replica has it, and with one replica per master that replica is the one promoted:
// no acknowledged join may be lost (unless WAIT timed out, which the API counts). Whatever Redis
// lost, PostgreSQL keeps holds, bookings and stock exact (I1, I2).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { joinStorm, waitForLineAdmitted } from '../helpers/sale.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice } from '../../support/processes.ts';
import { startRedisCluster } from '../../support/redis-cluster.ts';
import { waitFor } from '../../support/wait.ts';

const CLIENTS = 40;

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function heldCount(h: Harness, tt: number): Promise<number> {
  const { rows } = await h.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservations WHERE ticket_type_id = $1', [tt]);
  return rows[0]!.n;
}

async function killLineMasterMidSale(waitReplicas: 0 | 1) {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1_000 });
  process.once('exit', () => cluster.closeNow());
  closers.push(() => cluster.close());
  const h = await createHarness({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_JOIN_WAIT_REPLICAS: String(waitReplicas) });
  closers.push(() => h.close());
  const tt = await h.ticketType(1_000_000, 1);
  const k = h.ctx.keys.line(tt);
  const env = { ...configEnv(h.config), JOIN_LIMIT_PER_IP: '0' };
  const [api] = await Promise.all([startBoxoffice({ role: 'api', env }), startBoxoffice({ role: 'worker', env })]);

  const storm = joinStorm(api!.url, tt, CLIENTS);
  const { acknowledged, refused } = storm;
  let failoverMs = 0;
  try {
    await waitFor('1,000 buyers in line and holds being granted', async () => acknowledged.length >= 1_000 && (await heldCount(h, tt)) > 0,
      { timeoutMs: 60_000, intervalMs: 50 });
    const master = await cluster.masterOf(k.queue);
    const killedAt = performance.now();
    const killed = cluster.nodes.find((node) => node.port === master)!;
    await killed.kill9();
    // Right after the kill the others still call the cluster healthy: wait for the promotion.
    await waitFor('a replica to take the line over', async () => (await cluster.masterOf(k.queue).catch(() => master)) !== master,
      { timeoutMs: 30_000, intervalMs: 50, explain: () => `the nodes' logs end:\n${cluster.logTails()}` });
    failoverMs = performance.now() - killedAt;
    // The killed node comes back, as its supervisor would restart it, and becomes the replica of
    // the promoted one: until then a join's WAIT finds no replica, waits its full second and is
    // counted as unreplicated.
    await killed.start();
    await cluster.healthy();
    // Service resumes by itself: joins are acknowledged and buyers held again.
    const joined = acknowledged.length;
    const held = await heldCount(h, tt);
    await waitFor('joins and holds after the failover', async () => ({ joined: acknowledged.length, held: await heldCount(h, tt), refused: Object.fromEntries(refused) }),
      { until: (seen) => seen.joined >= joined + 500 && seen.held > held, timeoutMs: 30_000, intervalMs: 50 });
  } finally {
    await storm.stop();
  }
  await waitForLineAdmitted(h.ctx, tt);

  // A join that could not run during the failover is refused as unavailable, never as our fault.
  storm.assertOnlyUnavailable(api!.lines);
  // PostgreSQL is the system of record whatever Redis lost.
  await assertStockInvariants(h.ctx.db);
  const { rows: [pg] } = await h.ctx.db.query<{ holds: number; tokens: number; available: number }>(
    `SELECT count(*)::int AS holds, count(DISTINCT token)::int AS tokens,
            (SELECT quantity_available FROM ticket_types WHERE id = $1) AS available
     FROM reservations WHERE ticket_type_id = $1`, [tt]);
  assert.equal(pg!.tokens, pg!.holds, 'I2: one hold per token');
  assert.equal(pg!.available, 1_000_000 - pg!.holds, 'I1: the stock taken is the stock held');

  // An acknowledged join is lost when its token is unknown: no record in Redis, no row in PostgreSQL.
  const statuses = await Promise.all(acknowledged.map((token) => h.sale.status(token)));
  const lost = statuses.filter((s) => !s).length;
  const byStatus = Object.fromEntries([...new Set(statuses.map((s) => s?.status ?? 'unknown'))]
    .map((s) => [s, statuses.filter((x) => (x?.status ?? 'unknown') === s).length]));
  const metrics = await (await fetch(`${api!.url}/metrics`)).text();
  const unreplicated = Number(/^boxoffice_joins_unreplicated_total (\d+)/m.exec(metrics)?.[1] ?? 0);
  console.log(`# REDIS_JOIN_WAIT_REPLICAS=${waitReplicas}: line's master killed after ${acknowledged.length} acknowledged joins in all, `
    + `failover took ${Math.round(failoverMs)} ms; lost ${lost}; statuses ${JSON.stringify(byStatus)}; unreplicated ${unreplicated}; `
    + `refused during the failover ${JSON.stringify(Object.fromEntries(refused))}`);
  return { lost };
}

test('cluster.failover-without-wait-reports-lost-joins-and-keeps-stock-and-holds-exact', { timeout: 180_000 }, async (t) => {
  t.after(killAll);
  await killLineMasterMidSale(0);
});

test('cluster.failover-with-wait-1-loses-no-acknowledged-join', { timeout: 180_000 }, async (t) => {
  t.after(killAll);
  // Joins acknowledged while the promoted master had no replica yet are unreplicated, but no second
  // failure follows here: none of them may be lost either.
  const { lost } = await killLineMasterMidSale(1);
  assert.equal(lost, 0);
});
