// Issue 6: rate limits on join (per address, per user, shared by every API process), the per-user
// cap across joins, body size limits, security headers, and what one buyer can learn of another.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/api/app.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

type App = Awaited<ReturnType<Harness['app']>>;

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

async function setup(env: Record<string, string> = {}) {
  const h = await createHarness({ JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', ...env });
  harnesses.push(h);
  return { h, app: await h.app() };
}

const join = (app: App, user_id: string, ticket_type_id: number, quantity = 1, remoteAddress?: string, headers = {}) =>
  app.inject({ method: 'POST', url: '/queue/join', payload: { user_id, ticket_type_id, quantity }, remoteAddress, headers });

async function statusOf(app: App, token: string): Promise<string> {
  return (await app.inject({ url: `/reservation/status?token=${token}` })).json().status;
}

function assertRateLimited(res: Awaited<ReturnType<App['inject']>>, windowSeconds: number) {
  assert.equal(res.statusCode, 429, res.body);
  assert.equal(res.json().error.code, 'rate_limited');
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${res.headers['retry-after']}`);
}

describe('rate limits on join', () => {
  test('limits.per-address-answers-429-with-retry-after-and-json', async () => {
    const { h, app } = await setup({ JOIN_LIMIT_PER_IP: '5', RATE_LIMIT_WINDOW_SECONDS: '30' });
    const tt = await h.ticketType(100);
    for (let i = 0; i < 5; i++) assert.equal((await join(app, `u${i}`, tt, 1, '10.0.0.1')).statusCode, 202);
    const limited = await join(app, 'u5', tt, 1, '10.0.0.1');
    assertRateLimited(limited, 30);
    // Nothing joined for the refused request; another address is not affected.
    assert.equal(await h.ctx.redis.llen(h.ctx.keys.line(tt).queue), 5);
    assert.equal((await join(app, 'u5', tt, 1, '10.0.0.2')).statusCode, 202);
    // Bad requests count too: a flood of garbage from one address is limited before parsing.
    const garbage = await app.inject({ method: 'POST', url: '/queue/join', payload: '{', headers: { 'content-type': 'application/json' }, remoteAddress: '10.0.0.1' });
    assertRateLimited(garbage, 30);
  });

  test('limits.per-address-is-shared-by-every-api-process', async () => {
    const { h, app } = await setup({ JOIN_LIMIT_PER_IP: '6', RATE_LIMIT_WINDOW_SECONDS: '30' });
    const other = await buildApp(h.peer(), { logger: false });
    after(() => other.close());
    const tt = await h.ticketType(100);
    for (let i = 0; i < 3; i++) {
      assert.equal((await join(app, `a${i}`, tt, 1, '10.0.0.3')).statusCode, 202);
      assert.equal((await join(other, `b${i}`, tt, 1, '10.0.0.3')).statusCode, 202);
    }
    assertRateLimited(await join(other, 'c', tt, 1, '10.0.0.3'), 30);
    assertRateLimited(await join(app, 'd', tt, 1, '10.0.0.3'), 30);
  });

  test('limits.per-user-across-addresses', async () => {
    const { h, app } = await setup({ JOIN_LIMIT_PER_USER: '3', RATE_LIMIT_WINDOW_SECONDS: '30' });
    const tt = await h.ticketType(100);
    const first = await join(app, 'bot', tt, 1, '10.0.1.1');
    assert.equal(first.statusCode, 202);
    // The first join is not counted (it happens once); its three repeats are, from any address.
    for (const address of ['10.0.1.2', '10.0.1.3', '10.0.1.4']) {
      assert.equal((await join(app, 'bot', tt, 1, address)).statusCode, 409);
    }
    assertRateLimited(await join(app, 'bot', tt, 1, '10.0.1.4'), 30);
    assert.equal((await join(app, 'human', tt, 1, '10.0.1.4')).statusCode, 202);
    // An invalid body never reaches the per-user counter.
    const bad = await join(app, 'bot', tt, 0, '10.0.1.5');
    assert.equal(bad.statusCode, 400);
  });

  test('limits.window-ends-and-joins-are-accepted-again', async () => {
    const { h, app } = await setup({ JOIN_LIMIT_PER_IP: '2', RATE_LIMIT_WINDOW_SECONDS: '1' });
    const tt = await h.ticketType(100);
    await join(app, 'w1', tt, 1, '10.0.2.1');
    await join(app, 'w2', tt, 1, '10.0.2.1');
    assertRateLimited(await join(app, 'w3', tt, 1, '10.0.2.1'), 1);
    await waitFor('the window to end', async () => (await join(app, 'w3', tt, 1, '10.0.2.1')).statusCode === 202, { timeoutMs: 3_000 });
  });

  test('limits.forwarded-address-counts-only-behind-a-trusted-proxy', async () => {
    const { h, app } = await setup({ JOIN_LIMIT_PER_IP: '1', RATE_LIMIT_WINDOW_SECONDS: '30', TRUST_PROXY: '127.0.0.1' });
    const tt = await h.ticketType(100);
    const via = (user: string, client: string, peer: string) => join(app, user, tt, 1, peer, { 'x-forwarded-for': client });
    assert.equal((await via('p1', '203.0.113.1', '127.0.0.1')).statusCode, 202);
    assert.equal((await via('p2', '203.0.113.2', '127.0.0.1')).statusCode, 202);
    assertRateLimited(await via('p3', '203.0.113.1', '127.0.0.1'), 30);
    // A client talking directly cannot pick its address with the header.
    assert.equal((await via('p4', '203.0.113.9', '198.51.100.7')).statusCode, 202);
    assertRateLimited(await via('p5', '203.0.113.10', '198.51.100.7'), 30);
  });
});

describe('per-user cap across joins', () => {
  test('cap.user-may-not-exceed-max-per-order-across-joins', async () => {
    const { h, app } = await setup();
    await h.engine();
    const tt = await h.ticketType(100, 4);
    assert.equal((await join(app, 'ann', tt, 5)).json().error.code, 'quantity_too_large');

    const first = (await join(app, 'ann', tt, 3)).json().queue_token;
    await waitFor('the first hold', async () => (await statusOf(app, first)) === 'reserved');
    // While the hold lives a join is refused, and never shows the token (I5), whatever quantity is asked.
    const repeat = await join(app, 'ann', tt, 1);
    assert.equal(repeat.statusCode, 409);
    assert.equal(repeat.json().error.code, 'already_joined');
    assert.ok(!repeat.body.includes(first.split('.')[0]!));
    const confirmed = await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token: first } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);

    const over = await join(app, 'ann', tt, 2);
    assert.equal(over.statusCode, 409, over.body);
    assert.equal(over.json().error.code, 'user_limit_reached');
    const second = await join(app, 'ann', tt, 1);
    assert.equal(second.statusCode, 202, second.body);
    await waitFor('the second hold', async () => (await statusOf(app, second.json().queue_token)) === 'reserved');
    // A live hold counts: cancelling it gives the allowance back, confirming it uses it up.
    assert.equal((await join(app, 'ann', tt, 1)).json().error.code, 'already_joined');
    await app.inject({ method: 'POST', url: '/reservation/cancel', payload: { token: second.json().queue_token } });
    const fourth = (await join(app, 'ann', tt, 1)).json().queue_token;
    await waitFor('the fourth hold', async () => (await statusOf(app, fourth)) === 'reserved');
    await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token: fourth } });
    assert.equal((await join(app, 'ann', tt, 1)).json().error.code, 'user_limit_reached');
    // Another buyer and another ticket type are not affected.
    assert.equal((await join(app, 'bob', tt, 4)).statusCode, 202);
    const other = await h.ticketType(10, 4);
    assert.equal((await join(app, 'ann', other, 4)).statusCode, 202);

    const { rows } = await h.ctx.db.query<{ n: number }>(
      `SELECT sum(quantity)::int AS n FROM reservations WHERE user_id = 'ann' AND ticket_type_id = $1 AND status = 'confirmed'`, [tt]);
    assert.equal(rows[0]!.n, 4);
    await assertStockInvariants(h.ctx.db);
  });

  test('cap.expired-holds-do-not-count', async () => {
    const { h, app } = await setup({ RESERVATION_TTL_SECONDS: '1' });
    await h.engine();
    const tt = await h.ticketType(10, 2);
    const first = (await join(app, 'eve', tt, 2)).json().queue_token;
    await waitFor('the hold to expire', async () => (await statusOf(app, first)) === 'expired', { timeoutMs: 8_000 });
    const again = await join(app, 'eve', tt, 2);
    assert.equal(again.statusCode, 202, again.body);
    assert.notEqual(again.json().queue_token, first);
  });

  test('cap.concurrent-rejoins-after-a-hold-ended-make-one-token', async () => {
    const { h, app } = await setup({ RESERVATION_TTL_SECONDS: '1' });
    const engine = await h.engine();
    const tt = await h.ticketType(100, 4);
    const first = (await join(app, 'cat', tt, 1)).json().queue_token;
    await waitFor('the hold', async () => (await statusOf(app, first)) === 'reserved');
    // No sweeper: the hold runs out in PostgreSQL, but the line still shows the user's old token
    // as held (its record R, with an end now past), as in the moment before a sweep.
    await engine.stop();
    await waitFor('the hold to lapse', async () => (await statusOf(app, first)) === 'expired', { timeoutMs: 5_000 });
    const replies = await Promise.all(Array.from({ length: 10 }, () => join(app, 'cat', tt, 1)));
    assert.deepEqual(replies.map((r) => r.statusCode).sort(), [202, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert.notEqual(replies.find((r) => r.statusCode === 202)!.json().queue_token, first);
    assert.equal(await h.ctx.redis.llen(h.ctx.keys.line(tt).queue), 1);
  });
});

describe('request hygiene and secrecy', () => {
  test('hygiene.bodies-over-16-kib-are-refused-with-413', async () => {
    const { h, app } = await setup();
    const tt = await h.ticketType(10);
    const res = await app.inject({
      method: 'POST', url: '/queue/join', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ user_id: 'x'.repeat(1024 * 1024), ticket_type_id: tt }),
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, 'body_too_large');
    assert.equal(await h.ctx.redis.llen(h.ctx.keys.line(tt).queue), 0);
  });

  test('hygiene.security-headers-on-pages-nosniff-on-the-api', async () => {
    const { app } = await setup();
    for (const url of ['/events', '/nowhere']) {
      const res = await app.inject({ url });
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['content-security-policy'], undefined, url);
    }
    for (const url of ['/', '/admin', '/docs']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN', url);
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'/, url);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'self'/, url);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', url);
    }
  });

  test('secrecy.no-route-shows-one-buyer-another-buyers-token', async () => {
    const { h, app } = await setup();
    await h.engine();
    const tt = await h.ticketType(1);
    const alice = (await join(app, 'alice', tt, 1)).json().queue_token as string;
    const bob = (await join(app, 'bob', tt, 1)).json().queue_token as string;
    await waitFor('alice to hold', async () => (await statusOf(app, alice)) === 'reserved');
    const [secret = '', , bucket] = alice.split('.');
    // One character off at the end: the line files records under the first 8, so this one finds
    // alice's record and must still be refused.
    const offByOne = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}.${tt}.${bucket}`;
    const eventId = (await h.ctx.db.query<{ event_id: number }>('SELECT event_id FROM ticket_types WHERE id = $1', [tt])).rows[0]!.event_id;
    const seenByBob = [
      await app.inject({ url: `/reservation/status?token=${bob}` }),
      await app.inject({ method: 'POST', url: '/reservation/cancel', payload: { token: bob } }),
      await app.inject({ url: '/events' }),
      await app.inject({ url: `/events/${eventId}` }),
      await app.inject({ url: '/admin/stats' }),
      await app.inject({ url: '/metrics' }),
      // A guess: the same random part with another ticket type, or a token one character off.
      await app.inject({ url: `/reservation/status?token=${secret}.${tt + 1}.${bucket}` }),
      await app.inject({ url: `/reservation/status?token=${offByOne}` }),
      await app.inject({ method: 'POST', url: '/reservation/confirm', payload: { token: offByOne } }),
    ];
    for (const res of seenByBob) {
      assert.ok(!res.body.includes(secret), `${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.ok(!JSON.stringify(res.headers).includes(secret));
    }
    assert.equal(seenByBob[6]!.statusCode, 404);
    assert.equal(seenByBob[7]!.statusCode, 404);
    assert.equal(seenByBob[8]!.statusCode, 404);
    assert.equal(await statusOf(app, alice), 'reserved');
  });
});
