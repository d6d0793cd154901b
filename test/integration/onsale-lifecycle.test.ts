// A sale's lifecycle (issue 13): not open yet, the pre-queue, closed by its end or early; capacity
// added and withdrawn mid-sale; signed receipts; the bot challenge required, solved and replayed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { FastifyInstance } from 'fastify';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN, status, waitForStatus } from '../helpers/sale.ts';
import { assertLineInvariants, assertStockInvariants } from '../../support/invariants.ts';

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('sale lifecycle', () => {
  let h: Harness;
  let app: FastifyInstance;
  let eventId: number;

  const joinRes = (tt: number, user: string, extra: object = {}) =>
    app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: user, ticket_type_id: tt, ...extra } });
  const patch = (tt: number, payload: object) => app.inject({ method: 'PATCH', url: `/admin/ticket-types/${tt}`, headers: ADMIN, payload });
  async function create(payload: object): Promise<number> {
    const res = await app.inject({
      method: 'POST', url: `/admin/events/${eventId}/ticket-types`, headers: ADMIN, payload: { name: 'T', price: '10.00', ...payload },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id;
  }
  const listed = async (tt: number) => (await app.inject('/events')).json().flatMap((e: { ticket_types: { id: number }[] }) => e.ticket_types)
    .find((t: { id: number }) => t.id === tt);

  before(async () => {
    h = await createHarness();
    app = await h.app();
    await h.engine();
    const ev = await app.inject({ method: 'POST', url: '/admin/events', headers: ADMIN, payload: { name: 'On sale', starts_at: inSeconds(86_400) } });
    eventId = ev.json().id;
  });
  after(async () => {
    await assertStockInvariants(h.ctx.db);
    await h.close();
  });

  test('onsale.before-the-opening-a-join-is-sale_not_open-with-the-time', async () => {
    const opens = inSeconds(3_600);
    const tt = await create({ capacity: 5, sale_starts_at: opens });
    const res = await joinRes(tt, 'early');
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().error.code, 'sale_not_open');
    assert.equal(res.json().error.opens_at, new Date(opens).toISOString());
    assert.match(res.json().error.message, new RegExp(new Date(opens).toISOString()));
    assert.equal((await listed(tt)).state, 'scheduled');
    assert.equal((await h.ctx.redis.keys(`${h.config.REDIS_KEY_PREFIX}queue:{${tt}}*`)).length, 0, 'a refused join changes nothing');
  });

  test('onsale.prequeue-join-answers-entry-id-commitment-and-a-receipt-that-verifies', async () => {
    const tt = await create({ capacity: 5, prequeue_opens_at: inSeconds(-1), sale_starts_at: inSeconds(3_600) });
    const created = await listed(tt);
    assert.equal(created.state, 'prequeue');
    assert.match(created.draw_commitment, /^[0-9a-f]{64}$/);

    const res = await joinRes(tt, 'ada');
    assert.equal(res.statusCode, 202, res.body);
    const joined = res.json();
    assert.equal(joined.status, 'prequeue');
    assert.match(joined.entry_id, /^[0-9a-f]{32}$/);
    assert.notEqual(joined.entry_id, joined.queue_token);
    assert.equal(joined.draw_commitment, created.draw_commitment);
    assert.equal(joined.position, undefined, 'no place before the draw');

    const jwks = createLocalJWKSet((await app.inject('/.well-known/jwks.json')).json());
    const { payload, protectedHeader } = await jwtVerify(joined.receipt, jwks);
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.deepEqual({ ...payload, joined_at: undefined }, {
      ticket_type_id: tt, entry_id: joined.entry_id, kind: 'prequeue', commitment: created.draw_commitment, joined_at: undefined,
    });
    assert.ok(Math.abs(Date.parse(payload.joined_at as string) - Date.now()) < 5_000);

    const state = (await app.inject(`/reservation/status?token=${joined.queue_token}`)).json();
    assert.equal(state.status, 'prequeue');
    assert.equal(state.entry_id, joined.entry_id);
    const again = await joinRes(tt, 'ada');
    assert.equal(again.statusCode, 409, 'one entry per user');
    assert.equal(again.json().error.code, 'already_joined');
    const draw = (await app.inject(`/ticket-types/${tt}/draw`)).json();
    assert.deepEqual(draw, {
      state: 'scheduled', commitment: created.draw_commitment, prequeue_opens_at: created.prequeue_opens_at, sale_starts_at: created.sale_starts_at, entries: 1,
    });
    // Leaving the pre-queue: the entry stays in the draw and is dropped when the line reaches it.
    assert.equal((await app.inject({ method: 'POST', url: '/reservation/cancel', payload: { token: joined.queue_token } })).statusCode, 200);
    assert.equal(await status(app, joined.queue_token), 'cancelled');
  });

  test('onsale.line-join-receipt-carries-its-seq', async () => {
    const tt = await create({ capacity: 5 });
    await joinRes(tt, 'first');
    const joined = (await joinRes(tt, 'second')).json();
    const { payload } = await jwtVerify(joined.receipt, createLocalJWKSet((await app.inject('/.well-known/jwks.json')).json()));
    assert.equal(payload.kind, 'line');
    assert.equal(payload.seq, 2);
    assert.equal(payload.entry_id, joined.entry_id);
    await waitForStatus(app, joined.queue_token, 'reserved');
    const admissions = (await app.inject(`/ticket-types/${tt}/admissions`)).json().admissions;
    assert.equal(admissions[1], joined.entry_id, 'the admissions list names the second buyer second');
    assert.equal((await app.inject(`/ticket-types/${tt}/draw`)).json().error.code, 'no_prequeue');
  });

  test('onsale.after-its-end-or-an-early-close-joins-are-sale_closed', async () => {
    const ending = await create({ capacity: 5, sale_ends_at: inSeconds(1) });
    const inLine = (await joinRes(ending, 'before-the-end')).json();
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal((await joinRes(ending, 'too-late')).json().error.code, 'sale_closed');
    assert.equal((await listed(ending)).state, 'closed');
    assert.equal(await status(app, inLine.queue_token), 'reserved', 'a buyer let in before the end keeps their place');

    const early = await create({ capacity: 5 });
    const closed = await patch(early, { close: true });
    assert.equal(closed.statusCode, 200, closed.body);
    assert.equal(closed.json().state, 'closed');
    const refused = await joinRes(early, 'after-close');
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'sale_closed');
    assert.equal((await patch(early, { sale_ends_at: inSeconds(60) })).json().error.code, 'sale_closed');
  });

  test('onsale.added-capacity-admits-the-next-buyer-at-once', async () => {
    const tt = await create({ capacity: 1 });
    const a = (await joinRes(tt, 'a')).json().queue_token;
    await waitForStatus(app, a, 'reserved');
    const b = (await joinRes(tt, 'b')).json().queue_token;
    assert.equal(await status(app, b), 'pending', 'waits: a hold may come back');
    assert.equal((await listed(tt)).state, 'sold_out');
    const added = await patch(tt, { capacity: 2 });
    assert.equal(added.statusCode, 200, added.body);
    assert.deepEqual([added.json().capacity, added.json().quantity_available], [2, 1]);
    await waitForStatus(app, b, 'reserved', 3_000);
    await assertLineInvariants(h.ctx, tt);
  });

  test('onsale.withdrawn-capacity-tells-the-head-sold_out-and-that-stays-told', async () => {
    const tt = await create({ capacity: 2, max_per_order: 2 });
    const a = (await joinRes(tt, 'a', { quantity: 1 })).json().queue_token;
    await waitForStatus(app, a, 'reserved');
    const b = (await joinRes(tt, 'b', { quantity: 2 })).json().queue_token;
    assert.equal(await status(app, b), 'pending', '1 available + 1 held may still make 2');

    const below = await patch(tt, { capacity: 0 });
    assert.equal(below.statusCode, 409);
    assert.equal(below.json().error.code, 'capacity_in_use');
    const withdrawn = await patch(tt, { capacity: 1 });
    assert.deepEqual([withdrawn.json().capacity, withdrawn.json().quantity_available], [1, 0]);
    await waitForStatus(app, b, 'sold_out', 3_000);
    await assertLineInvariants(h.ctx, tt);

    await patch(tt, { capacity: 5 });
    const c = (await joinRes(tt, 'c', { quantity: 2 })).json().queue_token;
    await waitForStatus(app, c, 'reserved', 3_000);
    assert.equal(await status(app, b), 'sold_out', 'a buyer told sold_out stays told');
    await assertLineInvariants(h.ctx, tt, { stockAdded: true });
  });

  test('onsale.schedule-changes-are-checked-and-stop-at-the-opening', async () => {
    const bad = await app.inject({
      method: 'POST', url: `/admin/events/${eventId}/ticket-types`, headers: ADMIN,
      payload: { name: 'T', price: '1.00', capacity: 1, prequeue_opens_at: inSeconds(60), sale_starts_at: inSeconds(30) },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_schedule');
    assert.equal((await patch(await create({ capacity: 1 }), { sale_starts_at: inSeconds(60) })).json().error.code, 'sale_already_open');

    const tt = await create({ capacity: 1, prequeue_opens_at: inSeconds(-1), sale_starts_at: inSeconds(3_600) });
    assert.equal((await patch(tt, { prequeue_opens_at: inSeconds(10) })).json().error.code, 'sale_already_open');
    const { draw_commitment: before } = await listed(tt);
    const moved = await patch(tt, { sale_starts_at: inSeconds(7_200) });
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal(moved.json().draw_commitment, before, 'the commitment never changes once published');
    assert.equal((await patch(tt, { sale_starts_at: null })).json().error.code, 'invalid_schedule');
    assert.equal((await patch(tt, {})).statusCode, 400);
  });

  test('onsale.challenge-required-solved-and-replayed', async () => {
    const tt = await create({ capacity: 5, join_challenge: true, challenge_difficulty: 2_000 });
    const none = await joinRes(tt, 'bot');
    assert.equal(none.statusCode, 403, none.body);
    assert.equal(none.json().error.code, 'challenge_required');
    const challenge = none.json().error.challenge as Challenge;
    const solution = await solveChallenge({ challenge, deriveKey });
    assert.ok(solution);
    const altcha = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');

    // The derived key is the proof of work (altcha-lib checks it against the key's signature).
    const forged = `${solution.derivedKey.slice(0, -1)}${solution.derivedKey.endsWith('0') ? '1' : '0'}`;
    const wrong = Buffer.from(JSON.stringify({ challenge, solution: { ...solution, derivedKey: forged } })).toString('base64');
    assert.equal((await joinRes(tt, 'human', { altcha: wrong })).json().error.code, 'challenge_failed');
    const solved = await joinRes(tt, 'human', { altcha });
    assert.equal(solved.statusCode, 202, solved.body);
    const replayed = await joinRes(tt, 'someone-else', { altcha });
    assert.equal(replayed.statusCode, 403);
    assert.equal(replayed.json().error.code, 'challenge_failed');
    assert.ok(replayed.json().error.challenge, 'a fresh challenge comes with the refusal');
    const other = await create({ capacity: 5, join_challenge: true });
    const fresh = (await joinRes(other, 'x')).json().error.challenge as Challenge;
    const forOther = Buffer.from(JSON.stringify({ challenge: fresh, solution: await solveChallenge({ challenge: fresh, deriveKey }) })).toString('base64');
    assert.equal((await joinRes(tt, 'cross', { altcha: forOther })).json().error.code, 'challenge_failed', 'a challenge names its ticket type');
    const line = await assertLineInvariants(h.ctx, tt);
    assert.equal(line.records.size, 1, 'only the solved join changed anything');
  });
});
