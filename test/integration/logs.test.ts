// Structured logs: pino JSON with request ids, one line per processor batch and per sweep, and
// never a queue token or the admin token, whatever the flow (issue 7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/log.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN, join, post, status, waitForStatus } from '../helpers/sale.ts';

const ADMIN_TOKEN = 'test-admin-token';

describe('logs of a whole sale', () => {
  let h: Harness;
  let ctx: Context;
  const lines: string[] = [];
  const tokens: string[] = [];
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  before(async () => {
    h = await createHarness({ CLEANUP_INTERVAL_SECONDS: '1' });
    assert.equal(h.config.ADMIN_TOKEN, ADMIN_TOKEN);
    // Everything, down to trace (SQL statements), into memory.
    const log = createLogger(parseConfig({ LOG_LEVEL: 'trace' }), { write: (line: string) => void lines.push(line) });
    ctx = createContext(h.config, log);
    const app = await buildApp(ctx, { logger: log });
    await h.engine(undefined, ctx);

    const event = await app.inject({ method: 'POST', url: '/admin/events', headers: ADMIN, payload: { name: 'Logged', starts_at: '2030-01-01T20:00:00Z' } });
    assert.equal(event.statusCode, 201);
    const tt = await app.inject({
      method: 'POST', url: `/admin/events/${event.json().id}/ticket-types`, headers: ADMIN,
      payload: { name: 'Floor', price: '10.00', capacity: 2 },
    });
    const id: number = tt.json().id;
    assert.equal((await post(app, `/admin/ticket-types/${id}/pause`)).statusCode, 200);
    for (const user of ['ann', 'bob', 'cid']) tokens.push(await join(app, id, user));
    assert.equal((await post(app, `/admin/ticket-types/${id}/resume`)).statusCode, 200);
    const [ann, bob, cid] = tokens as [string, string, string];
    await waitForStatus(app, ann, 'reserved');
    await waitForStatus(app, bob, 'reserved');
    assert.equal(await status(app, cid), 'pending');
    assert.equal((await post(app, '/reservation/confirm', { token: ann })).statusCode, 200);
    assert.equal((await post(app, '/reservation/confirm', { token: ann })).statusCode, 200, 'a repeat confirm');
    assert.equal((await post(app, '/reservation/cancel', { token: cid })).statusCode, 200);
    assert.equal((await post(app, '/reservation/confirm', { token: cid })).statusCode, 409);
    // Bob's hold runs out: backdated, the sweeper releases it.
    await ctx.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE token = $1`, [bob]);
    await waitForStatus(app, bob, 'expired');
    // Failures that carry a token: unknown, malformed, and a wrong admin token.
    const unknown = `${'A'.repeat(22)}.${id}.0`;
    tokens.push(unknown);
    assert.equal((await app.inject(`/reservation/status?token=${unknown}`)).statusCode, 404);
    assert.equal((await app.inject(`/reservation/status?token=${ann}x`)).statusCode, 400);
    assert.equal((await app.inject(`/reservation/status?%74oken=${ann}`)).statusCode, 200, 'an encoded parameter name is the same parameter');
    assert.equal((await app.inject({ method: 'GET', url: '/admin/stats', headers: { authorization: `Bearer ${ADMIN_TOKEN}-wrong` } })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/admin/stats', headers: ADMIN })).statusCode, 200);
    assert.equal((await app.inject('/metrics')).statusCode, 200);
    await app.close();
  });
  after(async () => {
    await h.close();
    await ctx.close();
  });

  test('logs.no-token-or-admin-token-anywhere', () => {
    assert.ok(lines.length > 50, `captured ${lines.length} lines`);
    const all = lines.join('');
    for (const token of tokens) {
      assert.ok(!all.includes(token.split('.')[0]!), `queue token ${token.slice(0, 4)}… appears in the logs`);
    }
    assert.ok(!all.includes(ADMIN_TOKEN), 'the admin token appears in the logs');
  });

  test('logs.status-url-keeps-no-token', () => {
    const urls = records().map((r) => (r.req as { url?: string } | undefined)?.url).filter(Boolean);
    assert.ok(urls.includes('/reservation/status?[redacted]'), 'status requests are logged, query redacted');
    assert.ok(urls.includes('/admin/stats'), 'other URLs are logged as they are');
  });

  test('logs.json-lines-with-request-ids', () => {
    const all = records();
    const incoming = all.filter((r) => r.msg === 'incoming request');
    const completed = all.filter((r) => r.msg === 'request completed');
    assert.ok(incoming.length >= 15, 'every request is logged');
    assert.equal(completed.length, incoming.length);
    assert.ok(incoming.every((r) => typeof r.reqId === 'string' && r.reqId), 'request lines carry reqId');
    assert.equal(new Set(incoming.map((r) => r.reqId)).size, incoming.length, 'one id per request');
    assert.ok(completed.every((r) => typeof r.responseTime === 'number'), 'completion lines carry the time taken');
    assert.ok(all.some((r) => r.msg === 'admission paused' && r.reqId), 'route logs carry the request id too');
  });

  test('logs.engine-logs-one-line-per-batch-and-sweep', () => {
    const all = records();
    const batches = all.filter((r) => r.msg === 'batch admitted');
    assert.ok(batches.length >= 1);
    for (const b of batches) {
      for (const field of ['ticketTypeId', 'granted', 'soldOut', 'waiting', 'ms']) assert.equal(typeof b[field], 'number', `batch line has ${field}`);
    }
    assert.equal(batches.reduce((n, b) => n + (b.granted as number), 0), 2, 'two holds granted over all batch lines');
    const sweeps = all.filter((r) => r.msg === 'holds expired');
    assert.equal(sweeps.length, 1);
    assert.equal(sweeps[0]!.released, 1);
    assert.equal(typeof sweeps[0]!.ms, 'number');
  });
});
