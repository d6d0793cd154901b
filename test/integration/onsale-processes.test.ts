// A scheduled sale across two API and two worker processes (issue 13): the organiser schedules it
// through one API, buyers join the pre-queue through both, the opening is drawn by a worker, later
// joins go behind in join order; receipts from either API verify against either's JWKS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN } from '../helpers/sale.ts';
import { assertLineInvariants, assertStockInvariants } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';

const PREQUEUE = 300;
const AFTER = 60;

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

async function call(base: string, method: string, path: string, body?: object, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body && JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test('onsale.two-apis-two-workers-draw-the-prequeue-and-queue-later-joins-behind', { timeout: 120_000 }, async (t) => {
  t.after(killAll);
  const env = { ...configEnv(h.config), JOIN_LIMIT_PER_IP: '0' };
  const [apiA, apiB] = await Promise.all([startBoxoffice({ role: 'api', env }), startBoxoffice({ role: 'api', env })]);
  await Promise.all([startBoxoffice({ role: 'worker', env }), startBoxoffice({ role: 'worker', env })]);
  const apis = [apiA!.url, apiB!.url];

  const event = await call(apis[0]!, 'POST', '/admin/events', { name: 'Two by two', starts_at: new Date(Date.now() + 86_400_000).toISOString() }, ADMIN);
  const created = await call(apis[0]!, 'POST', `/admin/events/${event.json.id}/ticket-types`, {
    name: 'Shared', price: '5.00', capacity: PREQUEUE + AFTER, max_per_order: 1,
    prequeue_opens_at: new Date(Date.now() - 1_000).toISOString(), sale_starts_at: new Date(Date.now() + 3_600_000).toISOString(),
  }, ADMIN);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const tt = created.json.id as number;

  const prequeued = await Promise.all(Array.from({ length: PREQUEUE }, async (_, i) => {
    const joined = await call(apis[i % 2]!, 'POST', '/queue/join', { user_id: `pre-${i}`, ticket_type_id: tt });
    assert.equal(joined.status, 202, JSON.stringify(joined.json));
    assert.equal(joined.json.status, 'prequeue');
    return joined.json as { queue_token: string; entry_id: string; receipt: string };
  }));
  // Every API process reads the new opening within its rule cache's 5 s: the opening is set past that.
  const opening = Date.now() + 7_000;
  const moved = await call(apis[1]!, 'PATCH', `/admin/ticket-types/${tt}`, { sale_starts_at: new Date(opening).toISOString() }, ADMIN);
  assert.equal(moved.status, 200, JSON.stringify(moved.json));
  await waitFor('the opening', () => Date.now() >= opening + 50, { timeoutMs: 15_000 });
  const later: { queue_token: string; status: string }[] = [];
  for (let i = 0; i < AFTER; i++) later.push((await call(apis[i % 2]!, 'POST', '/queue/join', { user_id: `late-${i}`, ticket_type_id: tt })).json);
  assert.ok(later.every((j) => j.status === 'pending'), 'after the opening both APIs put buyers in the line');

  await waitFor('every buyer held', async () => (await h.ctx.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM reservations WHERE ticket_type_id = $1', [tt])).rows[0]!.n === PREQUEUE + AFTER, { timeoutMs: 60_000 });
  const draw = (await call(apis[1]!, 'GET', `/ticket-types/${tt}/draw`)).json as { state: string; order: string[] };
  assert.equal(draw.state, 'drawn');
  const tokenOf = new Map(prequeued.map((j) => [j.entry_id, j.queue_token]));
  const { rows } = await h.ctx.db.query<{ token: string }>('SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
  assert.deepEqual(rows.map((r) => r.token), [...draw.order.map((id) => tokenOf.get(id)), ...later.map((j) => j.queue_token)],
    'holds follow the draw order, then join order, whichever API took the join');

  for (const base of apis) {
    const jwks = createLocalJWKSet((await call(base, 'GET', '/.well-known/jwks.json')).json);
    for (const j of [prequeued[0]!, prequeued[1]!]) assert.equal((await jwtVerify(j.receipt, jwks)).payload.entry_id, j.entry_id);
  }
  await assertLineInvariants(h.ctx, tt);
  await assertStockInvariants(h.ctx.db);
});
