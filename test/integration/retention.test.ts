// Issue 10: a finished sale's Redis keys go once LINE_RETENTION_SECONDS have passed, and every
// token ever issued keeps its status, now answered by PostgreSQL. Joins after the purge still
// meet the per-user cap.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PurgeReport } from '../../src/engine/retention.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

let h: Harness;
let app: Awaited<ReturnType<Harness['app']>>;
const purges: PurgeReport[] = [];
before(async () => {
  h = await createHarness({ JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', LINE_RETENTION_SECONDS: '1', RESERVATION_TTL_SECONDS: '2' });
  await h.engine({ onPurge: (r) => purges.push(r) });
  app = await h.app();
});
after(() => h.close());

async function join(tt: number, user: string, quantity = 1) {
  return app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: user, ticket_type_id: tt, quantity } });
}
const status = async (token: string): Promise<Record<string, unknown>> => (await app.inject(`/reservation/status?token=${token}`)).json();
const act = (action: 'confirm' | 'cancel', token: string) => app.inject({ method: 'POST', url: `/reservation/${action}`, payload: { token } });
const statusIs = (token: string, wanted: string) => waitFor(`${token} ${wanted}`, async () => (await status(token)).status === wanted);
const lineKeys = (tt: number) => h.ctx.redis.keys(`${h.config.REDIS_KEY_PREFIX}queue:{${tt}}*`);

test('retention.finished-line-keys-go-and-every-token-keeps-its-status', { timeout: 60_000 }, async () => {
  const tt = await h.ticketType(3, 2);
  // The line is paused while everybody joins, so that who gets what does not depend on timing.
  await h.ctx.lines.pause(tt);
  const tokens: Record<string, string> = {};
  for (const [user, quantity] of [['ann', 2], ['bob', 1], ['cat', 1], ['dan', 1], ['eve', 1], ['fay', 2]] as const) {
    const res = await join(tt, user, quantity);
    assert.equal(res.statusCode, 202, res.body);
    tokens[user] = res.json().queue_token;
  }
  assert.equal((await act('cancel', tokens.eve!)).statusCode, 200, 'eve leaves the line before admission');
  await h.ctx.lines.resume(tt);

  // ann (2) and bob (1) get the 3 tickets; bob gives his back, cat gets it and lets it run out,
  // then dan gets it and buys it; fay (2) can never fit once ann has bought: sold_out.
  await statusIs(tokens.bob!, 'reserved');
  assert.equal((await act('confirm', tokens.ann!)).statusCode, 200);
  assert.equal((await act('cancel', tokens.bob!)).statusCode, 200);
  await statusIs(tokens.cat!, 'reserved');
  await statusIs(tokens.cat!, 'expired');
  await statusIs(tokens.dan!, 'reserved');
  assert.equal((await act('confirm', tokens.dan!)).statusCode, 200);
  await statusIs(tokens.fay!, 'sold_out');

  const before: Record<string, Record<string, unknown>> = Object.fromEntries(
    await Promise.all(Object.entries(tokens).map(async ([u, t]) => [u, await status(t)])));
  assert.deepEqual(Object.fromEntries(Object.entries(before).map(([u, s]) => [u, s.status])),
    { ann: 'confirmed', bob: 'cancelled', cat: 'expired', dan: 'confirmed', eve: 'cancelled', fay: 'sold_out' });
  assert.ok((await lineKeys(tt)).length > 0);

  // A crash between eve's cancel in Redis and its record in PostgreSQL, simulated: the purge's
  // last pass over the line's records must find her.
  await h.ctx.db.query('DELETE FROM line_exits WHERE token = $1', [tokens.eve]);

  const purge = await waitFor('the line purged', () => purges.find((p) => p.ticketTypeId === tt), { timeoutMs: 20_000 });
  assert.equal(purge.recovered, 1, "eve's exit was recorded by the purge");
  assert.deepEqual(await lineKeys(tt), [h.ctx.keys.line(tt).purged], 'no key of the line is left in Redis but its purge marker');
  for (const [user, token] of Object.entries(tokens)) assert.deepEqual(await status(token), before[user], `${user}'s status after the purge`);
  assert.equal((await act('confirm', tokens.fay!)).json().error.code, 'not_reserved');
  assert.equal((await act('cancel', tokens.eve!)).statusCode, 200, 'a repeated cancel answers the same');
  assert.equal((await act('confirm', tokens.ann!)).json().booking_id, before.ann!.booking_id, 'a repeated confirm returns the same booking');

  // After the purge Redis no longer knows who joined: the cap is checked in PostgreSQL instead.
  assert.equal((await join(tt, 'ann', 1)).json().error.code, 'user_limit_reached');
  const late = await join(tt, 'gus', 1);
  assert.equal(late.statusCode, 202, late.body);
  await statusIs(late.json().queue_token, 'sold_out');
  await assertStockInvariants(h.ctx.db);
});
