import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';

const admin = { authorization: 'Bearer test-admin-token' };

describe('events and admin API', () => {
  let h: Harness;
  let app: Awaited<ReturnType<Harness['app']>>;
  before(async () => {
    h = await createHarness();
    app = await h.app();
  });
  after(() => h.close());

  test('admin.creates-event-and-ticket-type-listed-by-events', async () => {
    const ev = await app.inject({
      method: 'POST', url: '/admin/events', headers: admin,
      payload: { name: 'Jazz night', venue: 'Hall', starts_at: '2027-01-01T20:00:00Z' },
    });
    assert.equal(ev.statusCode, 201, ev.body);
    const id = ev.json().id;
    const tt = await app.inject({
      method: 'POST', url: `/admin/events/${id}/ticket-types`, headers: admin,
      payload: { name: 'Standing', price: '25.5', capacity: 100, max_per_order: 2 },
    });
    assert.equal(tt.statusCode, 201, tt.body);
    assert.deepEqual(tt.json(), {
      id: tt.json().id, name: 'Standing', price: '25.50', capacity: 100, quantity_available: 100, max_per_order: 2,
      // No schedule: on sale from its creation, as before issue 13.
      prequeue_opens_at: null, sale_starts_at: null, sale_ends_at: null, state: 'on_sale', draw_commitment: null, join_challenge: false,
      currency: 'EUR', confirm_by: 'buyer', checkout_url: null,
    });

    const list = await app.inject('/events');
    assert.equal(list.statusCode, 200);
    const listed = list.json().find((e: { id: number }) => e.id === id);
    assert.equal(listed.name, 'Jazz night');
    assert.equal(new Date(listed.starts_at).toISOString(), '2027-01-01T20:00:00.000Z');
    assert.deepEqual(listed.ticket_types.map((t: { name: string; price: string }) => [t.name, t.price]), [['Standing', '25.50']]);

    const one = await app.inject(`/events/${id}`);
    assert.equal(one.json().ticket_types[0].quantity_available, 100);
  });

  test('admin.rejects-missing-or-wrong-token', async () => {
    const none = await app.inject({ method: 'GET', url: '/admin/stats' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'unauthorized');
    const wrong = await app.inject({ method: 'GET', url: '/admin/stats', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
  });

  test('admin.bad-input-gets-400-and-changes-nothing', async () => {
    const before = (await app.inject('/events')).json().length;
    for (const payload of [
      {},
      { name: '', starts_at: '2027-01-01T20:00:00Z' },
      { name: 'x', starts_at: 'tomorrow' },
      { name: 'x', starts_at: '2027-01-01T20:00:00Z', extra: 1 },
      { name: 42, starts_at: '2027-01-01T20:00:00Z' },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/admin/events', headers: admin, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().error.code, 'invalid_request');
    }
    const ev = (await app.inject({ method: 'POST', url: '/admin/events', headers: admin, payload: { name: 'E', starts_at: '2027-01-01T20:00:00Z' } })).json();
    for (const payload of [
      { name: 'T', price: '-1', capacity: 10 },
      { name: 'T', price: '1.234', capacity: 10 },
      { name: 'T', price: 10, capacity: 10 },
      { name: 'T', price: '10', capacity: -1 },
      { name: 'T', price: '10', capacity: 10, max_per_order: 0 },
    ]) {
      const res = await app.inject({ method: 'POST', url: `/admin/events/${ev.id}/ticket-types`, headers: admin, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
    }
    const missing = await app.inject({ method: 'POST', url: '/admin/events/999999/ticket-types', headers: admin, payload: { name: 'T', price: '1', capacity: 1 } });
    assert.equal(missing.statusCode, 404);
    assert.equal((await app.inject('/events')).json().length, before + 1);
    assert.equal((await app.inject(`/events/${ev.id}`)).json().ticket_types.length, 0);
  });

  test('events.unknown-or-malformed-id', async () => {
    assert.equal((await app.inject('/events/424242')).statusCode, 404);
    assert.equal((await app.inject('/events/abc')).statusCode, 400);
    assert.equal((await app.inject('/nowhere')).json().error.code, 'not_found');
  });

  test('health.readyz-reports-both-services', async () => {
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok' });
    assert.deepEqual((await app.inject('/readyz')).json(), { status: 'ready', redis: true, postgres: true });
  });

  test('admin.stats-show-stock', async () => {
    await assertStockInvariants(h.ctx.db);
    const stats = await app.inject({ method: 'GET', url: '/admin/stats', headers: admin });
    assert.equal(stats.statusCode, 200);
    assert.ok(stats.json().ticket_types.every((t: { held: number }) => t.held === 0));
  });
});

describe('admin API without ADMIN_TOKEN', () => {
  test('admin.disabled-answers-403', async () => {
    const h = await createHarness({ ADMIN_TOKEN: '' });
    try {
      const res = await (await h.app()).inject({ method: 'GET', url: '/admin/stats', headers: admin });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().error.code, 'admin_disabled');
    } finally {
      await h.close();
    }
  });
});
