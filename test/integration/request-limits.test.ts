// Issue 10: limits a public deployment needs beyond those on join: status reads and confirm or
// cancel per client address (shared by every API process, like join's), and open live streams per
// client address and per process. Over a limit: 429 or 503 with Retry-After and a JSON error,
// never a crash, and nothing changed.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { buildApp } from '../../src/api/app.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

type App = Awaited<ReturnType<Harness['app']>>;
type Reply = Awaited<ReturnType<App['inject']>>;

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

async function setup(env: Record<string, string>) {
  const h = await createHarness({ JOIN_LIMIT_PER_IP: '0', JOIN_LIMIT_PER_USER: '0', RATE_LIMIT_WINDOW_SECONDS: '30', ...env });
  harnesses.push(h);
  const app = await h.app();
  await h.engine();
  return { h, app };
}

async function joinHeld(h: Harness, app: App, tt: number, users: string[]): Promise<string[]> {
  const tokens: string[] = [];
  for (const user of users) {
    tokens.push((await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: user, ticket_type_id: tt } })).json().queue_token);
  }
  await waitFor('the holds', async () => (await h.sale.status(tokens.at(-1)!))?.status === 'reserved');
  return tokens;
}

function assertRefused(res: Reply, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error.code, code);
  assert.ok(Number(res.headers['retry-after']) >= 1, `Retry-After ${res.headers['retry-after']}`);
}

describe('per-address limits on status, confirm and cancel', () => {
  test('limits.status-per-address-shared-by-every-api-process', async () => {
    const { h, app } = await setup({ STATUS_LIMIT_PER_IP: '4' });
    const other = await buildApp(h.peer(), { logger: false });
    after(() => other.close());
    const [token] = await joinHeld(h, app, await h.ticketType(5), ['ann']);
    const status = (on: App, remoteAddress: string) => on.inject({ url: `/reservation/status?token=${token}`, remoteAddress });
    for (const on of [app, other, app, other]) assert.equal((await status(on, '10.0.0.1')).statusCode, 200);
    assertRefused(await status(app, '10.0.0.1'), 429, 'rate_limited');
    assertRefused(await status(other, '10.0.0.1'), 429, 'rate_limited');
    assert.equal((await status(other, '10.0.0.2')).statusCode, 200, 'another address is not affected');
  });

  test('limits.confirm-and-cancel-share-one-limit-and-a-refused-one-changes-nothing', async () => {
    const { h, app } = await setup({ ACTION_LIMIT_PER_IP: '2' });
    const tt = await h.ticketType(5);
    const [a, b, c] = await joinHeld(h, app, tt, ['ann', 'bob', 'cat']);
    const act = (action: string, token: string) => app.inject({ method: 'POST', url: `/reservation/${action}`, payload: { token }, remoteAddress: '10.0.0.9' });
    assert.equal((await act('confirm', a!)).statusCode, 200);
    assert.equal((await act('cancel', b!)).statusCode, 200);
    assertRefused(await act('confirm', c!), 429, 'rate_limited');
    assertRefused(await act('cancel', c!), 429, 'rate_limited');
    assert.equal((await h.sale.status(c!))?.status, 'reserved', 'the refused requests changed nothing');
    await assertStockInvariants(h.ctx.db);
  });
});

/** Opens GET /queue/stream on a listening server; resolves once the answer's head has arrived. */
function openStream(url: string, token: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: () => Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/queue/stream?token=${token}`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      const ended = new Promise<string>((r) => res.on('end', () => r(body)));
      resolve({ status: res.statusCode!, headers: res.headers, body: () => ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('live stream limits', () => {
  test('limits.streams-per-address-429-and-a-closed-one-frees-its-place', async () => {
    const { h, app } = await setup({ STREAM_LIMIT_PER_IP: '2', STREAM_LIMIT: '3' });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const tokens = await joinHeld(h, app, await h.ticketType(10), ['ann', 'bob', 'cat', 'dan']);

    const first = await openStream(url, tokens[0]!);
    const second = await openStream(url, tokens[1]!);
    assert.deepEqual([first.status, second.status], [200, 200]);
    const third = await openStream(url, tokens[2]!);
    assert.equal(third.status, 429);
    assert.equal(JSON.parse(await third.body()).error.code, 'too_many_streams');
    assert.ok(Number(third.headers['retry-after']) >= 1);

    // A stream that ends gives its place back.
    second.close();
    await waitFor('a closed stream to free its slot', async () => {
      const again = await openStream(url, tokens[2]!);
      if (again.status === 200) return again;
      again.close();
      return undefined;
    });
    assert.equal((await app.inject({ url: `/reservation/status?token=${tokens[3]}` })).statusCode, 200, 'other routes go on');
  });

  test('limits.process-wide-stream-limit-answers-503', async () => {
    const { h, app } = await setup({ STREAM_LIMIT_PER_IP: '10', STREAM_LIMIT: '2' });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const tokens = await joinHeld(h, app, await h.ticketType(10), ['ann', 'bob', 'cat']);
    const open = [await openStream(url, tokens[0]!), await openStream(url, tokens[1]!)];
    assert.deepEqual(open.map((s) => s.status), [200, 200]);
    const refused = await openStream(url, tokens[2]!);
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(await refused.body()).error.code, 'overloaded');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    for (const s of open) s.close();
  });
});
