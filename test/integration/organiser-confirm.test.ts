// Confirmation after payment (issue 14): a ticket type confirmed by the organiser is confirmed only
// by their server, with an API key of the event and an Idempotency-Key whose first answer every
// replay gets; the buyer's page gets a signed pass to the checkout. Buyer-confirmed ticket types
// work as before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { assertLineInvariants, assertStockInvariants } from '../../support/invariants.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN, join, post, waitForStatus } from '../helpers/sale.ts';

type App = Awaited<ReturnType<Harness['app']>>;

const CHECKOUT = 'https://shop.example.com/checkout?campaign=spring';

describe('confirmation by the organiser', () => {
  let h: Harness;
  let app: App;
  let eventId: number;
  let paid: number; // confirmed by the organiser
  let free: number; // confirmed by the buyer, as before
  let key: string;
  let keyId: number;
  let otherKey: string;
  const buyers = { n: 0 };

  const organiserConfirm = (token: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token }, headers });
  const withKey = (k: string, idempotencyKey?: string) => ({ authorization: `Bearer ${k}`, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) });

  async function heldToken(ticketTypeId = paid): Promise<string> {
    const token = await join(app, ticketTypeId, `buyer-${buyers.n++}`);
    await waitForStatus(app, token, 'reserved');
    return token;
  }

  async function createEvent(name: string): Promise<number> {
    const res = await post(app, '/admin/events', { name, starts_at: new Date(Date.now() + 86_400_000).toISOString(), currency: 'EUR' });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id;
  }

  async function createKey(event: number, name: string) {
    const res = await post(app, '/admin/api-keys', { event_id: event, name });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: number; key: string; key_prefix: string };
  }

  before(async () => {
    h = await createHarness({ CLEANUP_INTERVAL_SECONDS: '1' });
    app = await h.app();
    await h.engine();
    eventId = await createEvent('Paid night');
    const tt = await post(app, `/admin/events/${eventId}/ticket-types`,
      { name: 'Paid', price: '49.00', capacity: 50, confirm_by: 'organiser', checkout_url: CHECKOUT });
    assert.equal(tt.statusCode, 201, tt.body);
    assert.equal(tt.json().confirm_by, 'organiser');
    paid = tt.json().id;
    free = (await post(app, `/admin/events/${eventId}/ticket-types`, { name: 'Free', price: '0', capacity: 50 })).json().id;
    ({ key, id: keyId } = await createKey(eventId, 'payments server'));
    otherKey = (await createKey(await createEvent('Other night'), 'their server')).key;
  });
  after(() => h.close());

  test('organiser.api-keys-are-shown-once-and-listed-without-the-key', async () => {
    assert.match(key, /^bxk_[A-Za-z0-9_-]{43}$/);
    const list = await app.inject({ url: `/admin/api-keys?event_id=${eventId}`, headers: ADMIN });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().map((k: { id: number }) => k.id), [keyId]);
    const [listed] = list.json();
    assert.equal(listed.key, undefined);
    assert.equal(listed.key_prefix, key.slice(0, 12));
    const { rows } = await h.ctx.db.query<{ key_hash: Buffer }>('SELECT key_hash FROM api_keys WHERE id = $1', [keyId]);
    assert.ok(!rows[0]!.key_hash.toString('latin1').includes(key.slice(4)), 'only a hash is kept');
    assert.equal((await post(app, '/admin/api-keys', { event_id: 999_999, name: 'x' })).statusCode, 404);
    assert.equal((await post(app, '/admin/api-keys', { event_id: eventId })).statusCode, 400);
  });

  test('organiser.confirm-needs-the-organisers-key', async () => {
    const token = await heldToken();
    const byBuyer = await post(app, '/reservation/confirm', { token });
    assert.equal(byBuyer.statusCode, 401);
    assert.equal(byBuyer.json().error.code, 'api_key_required');
    const unknown = await organiserConfirm(token, withKey('bxk_not-a-key', 'k-unknown'));
    assert.equal(unknown.statusCode, 401);
    assert.equal(unknown.json().error.code, 'invalid_api_key');
    const otherEvent = await organiserConfirm(token, withKey(otherKey, 'k-other'));
    assert.equal(otherEvent.statusCode, 403);
    assert.equal(otherEvent.json().error.code, 'wrong_event');
    const noIdempotencyKey = await organiserConfirm(token, withKey(key));
    assert.equal(noIdempotencyKey.statusCode, 400);
    assert.equal(noIdempotencyKey.json().error.code, 'idempotency_key_required');
    assert.equal((await app.inject(`/reservation/status?token=${token}`)).json().status, 'reserved', 'none of them confirmed');

    const confirmed = await organiserConfirm(token, withKey(key, 'order-1'));
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal(confirmed.json().status, 'confirmed');
    assert.equal((await app.inject(`/reservation/status?token=${token}`)).json().status, 'confirmed');
  });

  test('organiser.replayed-idempotency-key-gets-the-first-answer', async () => {
    const token = await heldToken();
    const first = await organiserConfirm(token, withKey(key, 'order-2'));
    assert.equal(first.statusCode, 200, first.body);
    const replay = await organiserConfirm(token, withKey(key, 'order-2'));
    assert.equal(replay.statusCode, 200);
    assert.deepEqual(replay.json(), first.json());
    const reused = await organiserConfirm(await heldToken(), withKey(key, 'order-2'));
    assert.equal(reused.statusCode, 422);
    assert.equal(reused.json().error.code, 'idempotency_key_reused');

    // Many replays at once (a retrying client): one booking, one answer.
    const racing = await heldToken();
    const answers = await Promise.all(Array.from({ length: 10 }, () => organiserConfirm(racing, withKey(key, 'order-3'))));
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
    assert.equal(new Set(answers.map((a) => a.json().booking_id)).size, 1);
    const { rows } = await h.ctx.db.query(
      'SELECT 1 FROM ticket_bookings b JOIN reservations r ON r.id = b.reservation_id WHERE r.token = $1', [racing]);
    assert.equal(rows.length, 1);
  });

  test('organiser.confirm-after-the-hold-ended-stays-409', async () => {
    const token = await heldToken();
    await h.ctx.db.query('UPDATE reservations SET expires_at = now() WHERE token = $1', [token]);
    const late = await organiserConfirm(token, withKey(key, 'order-late'));
    assert.equal(late.statusCode, 409);
    assert.equal(late.json().error.code, 'reservation_expired');
    await waitForStatus(app, token, 'expired');
    const replay = await organiserConfirm(token, withKey(key, 'order-late'));
    assert.equal(replay.statusCode, 409, 'a replay says the same: refund');
    assert.deepEqual(replay.json(), late.json());
  });

  test('organiser.revoked-key-is-refused', async () => {
    const { id, key: doomed } = await createKey(eventId, 'to revoke');
    const token = await heldToken();
    assert.equal((await app.inject({ method: 'DELETE', url: `/admin/api-keys/${id}`, headers: ADMIN })).statusCode, 204);
    assert.equal((await app.inject({ method: 'DELETE', url: `/admin/api-keys/${id}`, headers: ADMIN })).statusCode, 204, 'a repeat answers the same');
    assert.equal((await app.inject({ method: 'DELETE', url: '/admin/api-keys/999999', headers: ADMIN })).statusCode, 404);
    const refused = await organiserConfirm(token, withKey(doomed, 'order-revoked'));
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'invalid_api_key');
    assert.equal((await app.inject(`/reservation/status?token=${token}`)).json().status, 'reserved');
    const listed = (await app.inject({ url: '/admin/api-keys', headers: ADMIN })).json().find((k: { id: number }) => k.id === id);
    assert.ok(listed.revoked_at);
  });

  test('organiser.buyer-confirmed-ticket-types-work-as-before', async () => {
    const token = await heldToken(free);
    // Other credentials on the request (here the admin token) are not an API key and change nothing.
    const res = await post(app, '/reservation/confirm', { token });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await post(app, '/reservation/confirm', { token })).json().booking_id, res.json().booking_id);
    const byOrganiser = await organiserConfirm(await heldToken(free), withKey(key, 'order-free'));
    assert.equal(byOrganiser.statusCode, 200, 'the organiser may confirm them too');
  });

  test('organiser.checkout-pass-is-signed-and-expires-with-the-hold', async () => {
    const token = await heldToken();
    const res = await app.inject({ method: 'POST', url: '/reservation/checkout', payload: { token } });
    assert.equal(res.statusCode, 200, res.body);
    const { pass, checkout_url: url, expires_at: expiresAt } = res.json();
    const link = new URL(url);
    assert.equal(link.origin + link.pathname, 'https://shop.example.com/checkout');
    assert.equal(link.searchParams.get('campaign'), 'spring');
    assert.equal(link.searchParams.get('pass'), pass);
    const jwks = createLocalJWKSet((await app.inject('/.well-known/jwks.json')).json());
    const { payload } = await jwtVerify(pass, jwks);
    const { rows } = await h.ctx.db.query<{ id: number; expires_at: Date }>('SELECT id, expires_at FROM reservations WHERE token = $1', [token]);
    assert.equal(payload.purpose, 'checkout');
    assert.equal(payload.token, token);
    assert.equal(payload.hold_id, rows[0]!.id);
    assert.equal(payload.quantity, 1);
    assert.equal(payload.unit_price, '49.00');
    assert.equal(payload.currency, 'EUR');
    assert.equal(expiresAt, rows[0]!.expires_at.toISOString());
    assert.ok(Math.abs(payload.exp! - rows[0]!.expires_at.getTime() / 1000) <= 2, 'the pass ends with the hold');

    const forFree = await app.inject({ method: 'POST', url: '/reservation/checkout', payload: { token: await heldToken(free) } });
    assert.equal(forFree.statusCode, 409);
    assert.equal(forFree.json().error.code, 'no_checkout');
    await h.ctx.db.query('UPDATE reservations SET expires_at = now() WHERE token = $1', [token]);
    const ended = await app.inject({ method: 'POST', url: '/reservation/checkout', payload: { token } });
    assert.equal(ended.statusCode, 409);
    assert.equal(ended.json().error.code, 'reservation_expired');
    await waitForStatus(app, token, 'expired'); // swept: its line's record agrees with its row again
  });

  test('organiser.ticket-type-needs-a-checkout-url', async () => {
    const res = await post(app, `/admin/events/${eventId}/ticket-types`, { name: 'No shop', price: '5.00', capacity: 1, confirm_by: 'organiser' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'checkout_url_required');
    const bad = await post(app, `/admin/events/${eventId}/ticket-types`,
      { name: 'Bad shop', price: '5.00', capacity: 1, confirm_by: 'organiser', checkout_url: 'javascript:alert(1)' });
    assert.equal(bad.statusCode, 400);
  });

  test('organiser.invariants-hold-after-the-sale', async () => {
    await assertStockInvariants(h.ctx.db);
    await assertLineInvariants(h.ctx, paid);
    await assertLineInvariants(h.ctx, free);
  });
});
