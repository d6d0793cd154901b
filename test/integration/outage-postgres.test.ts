// Issue 6: a private PostgreSQL is stopped for several seconds in the middle of a sale, then
// started again. Joins go on (they need Redis only), status answers, confirm answers 503 and
// succeeds once PostgreSQL is back; the processor and the sweeper resume by themselves; and at the
// end every buyer is accounted for with I1-I3 and I6 intact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/embedded-pg.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

type App = Awaited<ReturnType<Harness['app']>>;

const OUTAGE_MS = 6_000;

let pg: PrivatePostgres;
let h: Harness;
let app: App;

before(async () => {
  pg = await startPrivatePostgres();
  h = await createHarness({ DATABASE_URL: pg.url('boxoffice_outage'), RESERVATION_TTL_SECONDS: '60', CLEANUP_INTERVAL_SECONDS: '2' });
  app = await h.app();
  await h.engine();
});

after(async () => {
  await pg.start();
  await h.close();
  await pg.close();
});

const join = (user_id: string, ticket_type_id: number) =>
  app.inject({ method: 'POST', url: '/queue/join', payload: { user_id, ticket_type_id } });
const status = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json();
const confirm = (token: string) => app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token } });

const statuses = async (tokens: string[]) => (await Promise.all(tokens.map(status))).map((s) => s.status as string);

test('outage.postgres-down-mid-sale-joins-go-on-confirm-503-then-everything-resumes', async (t) => {
  const tt = await h.ticketType(10, 1);
  const tokens: string[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await join(`before-${i}`, tt);
    assert.equal(res.statusCode, 202, res.body);
    tokens.push(res.json().queue_token);
  }
  await waitFor('ten holds', () => statuses(tokens.slice(0, 10)), { until: (seen) => seen.every((s) => s === 'reserved'), timeoutMs: 20_000 });
  for (const token of tokens.slice(0, 3)) assert.equal((await confirm(token)).statusCode, 200);
  // Three holds run out while PostgreSQL is down: only the sweeper, once it is back, can end them.
  await h.ctx.db.query(`UPDATE reservations SET expires_at = now() + interval '2 seconds' WHERE token = ANY($1)`, [tokens.slice(3, 6)]);

  await pg.stop();
  const outageStarted = Date.now();
  let joinedDuring = 0;
  let confirmRefused = 0;
  while (Date.now() - outageStarted < OUTAGE_MS) {
    const joined = await join(`during-${joinedDuring}`, tt);
    assert.equal(joined.statusCode, 202, joined.body);
    assert.equal(joined.json().position, 21 + joinedDuring);
    tokens.push(joined.json().queue_token);
    joinedDuring++;

    const pending = await app.inject(`/reservation/status?token=${tokens[10]}`);
    assert.equal(pending.statusCode, 200, pending.body);
    assert.deepEqual([pending.json().status, pending.json().position], ['pending', 1]);
    const held = await app.inject(`/reservation/status?token=${tokens[6]}`);
    assert.equal(held.statusCode, 200, held.body);
    assert.equal(held.json().status, 'reserved');

    const refused = await confirm(tokens[6]!);
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().error.code, 'service_unavailable');
    assert.match(refused.json().error.message, /try again/);
    confirmRefused++;
    assert.equal((await app.inject('/readyz')).json().postgres, false);
    await delay(250);
  }
  const outageMs = Date.now() - outageStarted;

  await pg.start();
  const recoveryStarted = Date.now();
  await waitFor('the confirm to go through', async () => (await confirm(tokens[6]!)).statusCode === 200, { timeoutMs: 20_000 });
  const confirmBackMs = Date.now() - recoveryStarted;
  // The sweeper ends the three overdue holds by itself and the processor admits the next three.
  await waitFor('the sweeper to resume', () => statuses(tokens.slice(3, 6)), { until: (seen) => seen.every((s) => s === 'expired'), timeoutMs: 20_000 });
  await waitFor('the processor to resume', () => statuses(tokens.slice(10, 13)), { until: (seen) => seen.every((s) => s === 'reserved'), timeoutMs: 20_000 });
  const resumedMs = Date.now() - recoveryStarted;
  t.diagnostic(`PostgreSQL down ${outageMs} ms: ${joinedDuring} joins accepted, ${confirmRefused} confirms answered 503; `
    + `confirm went through ${confirmBackMs} ms and sweeper + processor caught up ${resumedMs} ms after it restarted`);

  // Sell out: every live hold is confirmed; then nobody can get stock back and the line hears sold_out.
  for (const token of [...tokens.slice(7, 10), ...tokens.slice(10, 13)]) {
    const res = await confirm(token);
    assert.equal(res.statusCode, 200, res.body);
  }
  await waitFor('the rest to hear sold_out (I6)', () => statuses(tokens.slice(13)), { until: (seen) => seen.every((s) => s === 'sold_out'), timeoutMs: 20_000 });

  const final = await statuses(tokens);
  assert.deepEqual(final.slice(0, 13), [
    'confirmed', 'confirmed', 'confirmed', 'expired', 'expired', 'expired', 'confirmed',
    'confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed',
  ]);
  assert.equal(final.length, 30 + joinedDuring, 'every acknowledged join is accounted for');
  await assertStockInvariants(h.ctx.db);
  const { rows } = await h.ctx.db.query<{ token: string }>('SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
  assert.deepEqual(rows.map((r) => r.token), tokens.slice(0, 13), 'I3: holds granted in join order, once each');
  const stock = await h.ctx.db.query<{ quantity_available: number }>('SELECT quantity_available FROM ticket_types WHERE id = $1', [tt]);
  assert.equal(stock.rows[0]!.quantity_available, 0);
});
