// Webhooks from the transactional outbox (issue 14): every committed change has exactly one event,
// every event reaches a real HTTP endpoint in this process with a valid Standard Webhooks
// signature, an endpoint that is down gets everything once it is up (on the retry schedule), two
// dispatchers never send one event at once, and nothing is written for events nobody subscribes to.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pruneDeliveries } from '../../src/db/webhooks.ts';
import { retryDelayMs, WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks.ts';
import type { DeliveryReport } from '../../src/engine/webhook-dispatcher.ts';
import { assertLineInvariants, assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN, join, post, waitForStatus } from '../helpers/sale.ts';

type App = Awaited<ReturnType<Harness['app']>>;

async function subscribe(app: App, receiver: WebhookReceiver, events: readonly string[] = WEBHOOK_EVENT_TYPES): Promise<number> {
  const res = await post(app, '/admin/webhooks', { url: receiver.url, events });
  assert.equal(res.statusCode, 201, res.body);
  receiver.secret = res.json().secret;
  return res.json().id;
}

async function newTicketType(app: App, capacity: number, maxPerOrder = 4, name = 'Floor'): Promise<number> {
  const ev = await post(app, '/admin/events', { name: 'Webhook night', starts_at: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(ev.statusCode, 201, ev.body);
  const tt = await post(app, `/admin/events/${ev.json().id}/ticket-types`, { name, price: '20.00', capacity, max_per_order: maxPerOrder });
  assert.equal(tt.statusCode, 201, tt.body);
  return tt.json().id;
}

interface OutboxRow { message_id: string; event_type: string; subject: string; status: string; attempts: number }

/** Every outbox row, with the id of what it reports (a hold, a booking or a ticket type). */
async function outbox(h: Harness): Promise<OutboxRow[]> {
  const { rows } = await h.ctx.db.query<OutboxRow>(
    `SELECT message_id, event_type, status, attempts,
            coalesce(payload->'data'->>'booking_id', payload->'data'->>'hold_id', payload->'data'->>'ticket_type_id') AS subject
     FROM webhook_deliveries ORDER BY id`,
  );
  return rows;
}

describe('webhooks from the outbox', () => {
  let h: Harness;
  let app: App;
  let receiver: WebhookReceiver;
  const reports: DeliveryReport[] = [];

  before(async () => {
    // Retention's over-detection (sale.closed) runs every LINE_RETENTION_SECONDS / 2.
    h = await createHarness({ WEBHOOK_RETRY_BASE_MS: '100', LINE_RETENTION_SECONDS: '2', CLEANUP_INTERVAL_SECONDS: '1' });
    app = await h.app();
    await h.engine({ onDelivery: (r) => reports.push(r) });
  });
  afterEach(async () => {
    await h.ctx.db.query('DELETE FROM webhook_endpoints');
    await receiver?.close();
  });
  after(() => h.close());

  test('webhooks.every-committed-change-has-exactly-one-event-and-each-arrives-signed', async () => {
    receiver = await startWebhookReceiver();
    await subscribe(app, receiver);
    const floor = await newTicketType(app, 5);
    // A line that turns a buyer away at once: 3 wanted, 2 on sale and none held (line.sold_out).
    const small = await newTicketType(app, 2, 4, 'Balcony');
    const turnedAway = await join(app, small, 'big-group', 3);
    await waitForStatus(app, turnedAway, 'sold_out');

    const tokens = [];
    for (let i = 0; i < 8; i++) tokens.push(await join(app, floor, `fan-${i}`));
    for (const t of tokens.slice(0, 5)) await waitForStatus(app, t, 'reserved');
    for (const t of tokens.slice(0, 2)) assert.equal((await post(app, '/reservation/confirm', { token: t })).statusCode, 200);
    assert.equal((await post(app, '/reservation/cancel', { token: tokens[2] })).statusCode, 200);
    // Two holds run out: the sweeper expires them (hold.expired), and the line moves on.
    await h.ctx.db.query(`UPDATE reservations SET expires_at = now() WHERE token = ANY($1)`, [tokens.slice(3, 5)]);
    for (const t of tokens.slice(3, 5)) await waitForStatus(app, t, 'expired');
    for (const t of tokens.slice(5)) {
      await waitForStatus(app, t, 'reserved');
      assert.equal((await post(app, '/reservation/confirm', { token: t })).statusCode, 200);
    }
    // Nothing left and no hold outstanding: retention sees the sale over (sale.closed).
    await waitFor('the sale to be closed', async () =>
      (await h.ctx.db.query('SELECT 1 FROM ticket_types WHERE id = $1 AND sale_over_at IS NOT NULL', [floor])).rowCount === 1, { timeoutMs: 10_000 });

    // What committed, from the tables themselves.
    const expected = new Map<string, number>();
    const add = (type: string, subjects: { id: number }[]) => subjects.forEach((s) => expected.set(`${type} ${s.id}`, 0));
    const q = async (sql: string) => (await h.ctx.db.query<{ id: number }>(sql)).rows;
    add('hold.granted', await q('SELECT id FROM reservations'));
    add('hold.expired', await q(`SELECT id FROM reservations WHERE status = 'expired'`));
    add('hold.cancelled', await q(`SELECT id FROM reservations WHERE status = 'cancelled'`));
    add('booking.confirmed', await q('SELECT id FROM ticket_bookings'));
    add('line.sold_out', await q('SELECT id FROM ticket_types WHERE line_sold_out_at IS NOT NULL'));
    add('sale.opened', await q('SELECT id FROM ticket_types'));
    add('sale.closed', await q('SELECT id FROM ticket_types WHERE sale_over_at IS NOT NULL'));
    assert.equal(expected.size, 8 + 2 + 1 + 5 + 1 + 2 + 1, 'the sale went as planned');

    const rows = await outbox(h);
    for (const row of rows) {
      const key = `${row.event_type} ${row.subject}`;
      assert.ok(expected.has(key), `an event for a change that did not commit: ${key}`);
      expected.set(key, expected.get(key)! + 1);
    }
    assert.deepEqual([...expected].filter(([, n]) => n !== 1), [], 'every committed change has exactly one event');
    assert.equal(new Set(rows.map((r) => r.message_id)).size, rows.length, 'one event id per event');

    await waitFor('every event to arrive', () => rows.every((r) => receiver.delivered().has(r.message_id)), { timeoutMs: 10_000 });
    assert.ok(receiver.requests.every((r) => r.verified), 'every request carries a valid Standard Webhooks signature');
    const byId = new Map(receiver.requests.map((r) => [r.id, r]));
    for (const row of rows) assert.equal(byId.get(row.message_id)!.type, row.event_type);
    assert.ok(!JSON.stringify(receiver.requests).includes(tokens[0]!.slice(0, 22)), 'no payload carries a queue token');
    await assertStockInvariants(h.ctx.db);
    await assertLineInvariants(h.ctx, floor);
  });

  test('webhooks.admission-writes-nothing-nobody-subscribes-to', async () => {
    receiver = await startWebhookReceiver();
    await h.ctx.db.query('DELETE FROM webhook_deliveries');
    await subscribe(app, receiver, ['booking.confirmed']);
    const id = await newTicketType(app, 50);
    const tokens = [];
    for (let i = 0; i < 20; i++) tokens.push(await join(app, id, `quiet-${i}`));
    await waitForStatus(app, tokens.at(-1)!, 'reserved');
    assert.equal((await post(app, '/reservation/confirm', { token: tokens[0] })).statusCode, 200);
    const rows = await outbox(h);
    assert.deepEqual(rows.map((r) => r.event_type), ['booking.confirmed'], 'holds and the opening wrote no event');
  });

  test('webhooks.endpoint-down-then-up-gets-everything-on-the-retry-schedule', async () => {
    receiver = await startWebhookReceiver();
    await h.ctx.db.query('DELETE FROM webhook_deliveries');
    const downUntil = Date.now() + 2_000;
    receiver.answer = () => (Date.now() < downUntil ? { status: 503 } : { status: 200 });
    await subscribe(app, receiver, ['sale.opened']);
    for (let i = 0; i < 5; i++) await newTicketType(app, 1);
    const rows = await outbox(h);
    assert.equal(rows.length, 5);
    await waitFor('every event to arrive', () => rows.every((r) => receiver.delivered().has(r.message_id)), { timeoutMs: 15_000 });

    for (const row of rows) {
      const times = receiver.requests.filter((r) => r.id === row.message_id).map((r) => r.receivedAt);
      assert.ok(times.length >= 4, `${row.message_id} was tried ${times.length} times in 2 s of outage`);
      for (let n = 1; n < times.length; n++) {
        // After the n-th failure the wait is base * 2^(n-1), jittered into its second half.
        const full = retryDelayMs(n, 100, () => 1);
        const gap = times[n]! - times[n - 1]!;
        assert.ok(gap >= full / 2 - 15, `${row.message_id}: retry ${n} came ${gap} ms after the failure, before ${full / 2} ms`);
        assert.ok(gap <= full + 600, `${row.message_id}: retry ${n} came ${gap} ms after the failure, well after ${full} ms`);
      }
    }
    // Each result is recorded just after its answer.
    const after = await waitFor('every delivery to be recorded', async () => {
      const recorded = await outbox(h);
      return recorded.every((r) => r.status === 'delivered') && recorded;
    });
    for (const row of after) {
      assert.equal(row.attempts, receiver.requests.filter((r) => r.id === row.message_id).length, 'every attempt is counted');
    }
    assert.ok(receiver.requests.every((r) => r.verified));
  });

  test('webhooks.redirects-are-not-followed-and-a-silent-endpoint-times-out', async () => {
    receiver = await startWebhookReceiver();
    const elsewhere = await startWebhookReceiver();
    try {
      await h.ctx.db.query('DELETE FROM webhook_deliveries');
      receiver.answer = () => ({ status: 307, headers: { location: elsewhere.url } });
      await subscribe(app, receiver, ['sale.opened']);
      await newTicketType(app, 1);
      const failed = await waitFor('a redirect to be answered', () => reports.find((r) => r.error?.startsWith('redirect')));
      assert.equal(failed.status, 307);
      assert.equal(failed.left, 'pending');
      assert.match(failed.error!, new RegExp(`redirect to ${elsewhere.url} not followed`));
      assert.equal(elsewhere.requests.length, 0, 'the redirect was not followed');
      const { rows } = await h.ctx.db.query<{ last_error: string; last_status: number }>('SELECT last_error, last_status FROM webhook_deliveries');
      assert.equal(rows[0]!.last_status, 307);
    } finally {
      await elsewhere.close();
    }
  });

  test('webhooks.gives-up-after-the-window-then-retry-now-sends-it-again', async () => {
    await h.close();
    reports.length = 0;
    h = await createHarness({ WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_RETRY_WINDOW_SECONDS: '1', WEBHOOK_TIMEOUT_MS: '300' });
    app = await h.app();
    await h.engine({ onDelivery: (r) => reports.push(r) });
    receiver = await startWebhookReceiver();
    receiver.answer = () => 'hang';
    await subscribe(app, receiver, ['sale.opened']);
    await newTicketType(app, 1);
    const gaveUp = await waitFor('the retries to give up', () => reports.find((r) => r.left === 'failed'), { timeoutMs: 10_000 });
    assert.equal(gaveUp.error, 'no answer within 300 ms');
    assert.ok(gaveUp.attempt >= 2, `tried ${gaveUp.attempt} times in the window`);
    const log = await app.inject({ url: '/admin/webhook-deliveries?status=failed', headers: ADMIN });
    const [delivery] = log.json().deliveries;
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.next_attempt_at, null);

    receiver.answer = () => ({ status: 204 });
    const retried = await post(app, `/admin/webhook-deliveries/${delivery.id}/retry`);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.equal(retried.json().status, 'pending');
    await waitFor('the retried delivery to arrive', () => receiver.delivered().has(delivery.message_id));
    const recorded = await waitFor('the delivery to be recorded', async () =>
      (await app.inject({ url: `/admin/webhook-deliveries?status=delivered`, headers: ADMIN })).json().deliveries,
    { until: (list: { id: number; attempts: number }[]) => list.length === 1 });
    assert.equal(recorded[0]!.id, delivery.id);
    assert.equal(recorded[0]!.attempts, gaveUp.attempt + 1);
    assert.equal((await post(app, '/admin/webhook-deliveries/999999/retry')).statusCode, 404);
  });
});

describe('webhook dispatchers side by side', () => {
  let h: Harness;
  let app: App;
  let receiver: WebhookReceiver;
  after(async () => {
    await receiver?.close();
    await h?.close();
  });

  test('webhooks.two-dispatchers-never-deliver-one-event-twice-at-once', async () => {
    h = await createHarness({ WEBHOOK_CONCURRENCY: '8', JOIN_LIMIT_PER_IP: '0' });
    app = await h.app();
    receiver = await startWebhookReceiver();
    // Slow answers keep many deliveries in flight at once, in both dispatchers.
    receiver.answer = () => ({ status: 200, delayMs: 15 });
    await subscribe(app, receiver, ['hold.granted']);
    const id = await newTicketType(app, 300, 1);
    for (let i = 0; i < 300; i++) await join(app, id, `pair-${i}`);
    const byDispatcher = [0, 0];
    await h.engine({ onDelivery: (r) => r.left === 'delivered' && byDispatcher[0]!++ });
    await h.engine({ onDelivery: (r) => r.left === 'delivered' && byDispatcher[1]!++ }, h.peer());
    const rows = await waitFor('300 events', async () => {
      const written = await outbox(h);
      return written.length === 300 ? written : undefined;
    }, { timeoutMs: 20_000 });
    await waitFor('every event to arrive', () => rows.every((r) => receiver.delivered().has(r.message_id)), { timeoutMs: 30_000 });
    assert.equal(receiver.maxConcurrentPerId(), 1, 'no event was in flight twice at once');
    assert.equal(receiver.requests.length, 300, 'each event was sent once');
    assert.ok(byDispatcher.every((n) => n > 0), `both dispatchers delivered: ${byDispatcher}`);
    await assertStockInvariants(h.ctx.db);
  });

  test('webhooks.old-finished-deliveries-are-pruned-pending-ones-never', async () => {
    await waitFor('every result to be recorded', async () =>
      (await h.ctx.db.query(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending'`)).rowCount === 0);
    await h.ctx.db.query(`UPDATE webhook_deliveries SET created_at = now() - interval '31 days'`);
    await h.ctx.db.query(`UPDATE webhook_deliveries SET status = 'pending' WHERE id = (SELECT min(id) FROM webhook_deliveries)`);
    assert.equal(await pruneDeliveries(h.ctx.db, 30), 299);
    const { rows } = await h.ctx.db.query<{ status: string }>('SELECT status FROM webhook_deliveries');
    assert.deepEqual(rows.map((r) => r.status), ['pending']);
  });

  test('webhooks.admin-shows-the-secret-once-and-removes-endpoints', async () => {
    const created = await post(app, '/admin/webhooks', { url: 'https://hooks.example.com/boxoffice', events: ['booking.confirmed'] });
    assert.equal(created.statusCode, 201);
    assert.match(created.json().secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const list = await app.inject({ url: '/admin/webhooks', headers: ADMIN });
    const listed = list.json().find((w: { id: number }) => w.id === created.json().id);
    assert.deepEqual(Object.keys(listed).sort(), ['created_at', 'events', 'id', 'url']);
    for (const bad of [
      { url: 'ftp://example.com/x', events: ['booking.confirmed'] },
      { url: 'https://example.com/x', events: ['hold.invented'] },
      { url: 'https://example.com/x', events: [] },
      { url: 'not a url', events: ['sale.opened'] },
    ]) {
      const res = await post(app, '/admin/webhooks', bad);
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
    }
    const gone = await app.inject({ method: 'DELETE', url: `/admin/webhooks/${created.json().id}`, headers: ADMIN });
    assert.equal(gone.statusCode, 204);
    assert.equal((await app.inject({ method: 'DELETE', url: `/admin/webhooks/${created.json().id}`, headers: ADMIN })).statusCode, 404);
    assert.equal((await app.inject({ url: '/admin/webhooks', headers: {} })).statusCode, 401);
  });
});
