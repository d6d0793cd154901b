// GET /queue/stream (issue 4): live status over Server-Sent Events, from a real listening server,
// and the line figures (ahead, remaining, estimated wait) that status and stream carry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { LineFigures } from '../../src/sale/line-figures.ts';
import { pino } from 'pino';
import { createDb, type Db } from '../../src/db/pool.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

interface StreamEvent {
  id?: string;
  data: Record<string, unknown>;
  at: number;
}

/** A minimal EventSource over fetch that records every event and when it came. */
class StreamClient {
  readonly events: StreamEvent[] = [];
  ended = false;
  private readonly abort = new AbortController();

  static async open(base: string, token: string, headers: Record<string, string> = {}) {
    const client = new StreamClient();
    const res = await fetch(`${base}/queue/stream?token=${encodeURIComponent(token)}`, { headers, signal: client.abort.signal });
    if (res.status === 200) void client.read(res.body!);
    else client.ended = true;
    return { client, res };
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => {
            const i = l.indexOf(':');
            return [l.slice(0, i), l.slice(i + 1).trimStart()];
          }));
          if (fields.data !== undefined) this.events.push({ id: fields.id, data: JSON.parse(fields.data), at: Date.now() });
        }
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
  }

  /** The first event (after `from`) that satisfies `match`, waiting for it up to `ms`. */
  async next(match: (data: Record<string, unknown>) => boolean, ms = 5_000, from = 0): Promise<StreamEvent> {
    const seen = await waitFor('a matching event', () => ({
      found: this.events.slice(from).find((e) => match(e.data)), ended: this.ended, events: this.events.map((e) => e.data),
    }), { until: ({ found, ended }) => found !== undefined || ended, timeoutMs: ms, intervalMs: 20 });
    assert.ok(seen.found, `the stream ended without a matching event; got ${JSON.stringify(seen.events)}`);
    return seen.found;
  }

  async waitEnd(ms = 3_000): Promise<void> {
    await waitFor('the stream to end', () => this.ended, { timeoutMs: ms, intervalMs: 20 });
  }

  close(): void {
    this.abort.abort();
  }
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

function api(app: FastifyInstance) {
  const post = async (url: string, payload: object) => (await app.inject({ method: 'POST', url, payload })).json();
  return {
    join: (user: string, ticketTypeId: number, quantity = 1) =>
      post('/queue/join', { user_id: user, ticket_type_id: ticketTypeId, quantity }) as Promise<{ queue_token: string; position: number }>,
    cancel: (token: string) => post('/reservation/cancel', { token }),
    confirm: (token: string) => post('/reservation/confirm', { token }),
    status: async (token: string) => (await app.inject(`/reservation/status?token=${encodeURIComponent(token)}`)).json(),
  };
}

const subscribers = async (h: Harness, ticketTypeId: number) =>
  Number(((await h.ctx.redis.pubsub('NUMSUB', h.ctx.keys.line(ticketTypeId).events)) as [string, number])[1]);

describe('live stream with an engine in the same process', () => {
  let h: Harness;
  let app: FastifyInstance;
  let base: string;
  let call: ReturnType<typeof api>;
  before(async () => {
    h = await createHarness();
    app = await h.app();
    base = await listen(app);
    await h.engine();
    call = api(app);
  });
  after(() => h?.close());

  test('stream.pending-sees-position-fall-then-reserved-then-confirmed', async () => {
    const tt = await h.ticketType(2);
    const [a, b] = [await call.join('a', tt), await call.join('b', tt)];
    await waitFor('b held', () => call.status(b.queue_token), { until: (s) => s.status === 'reserved', timeoutMs: 5_000 });
    const [c] = [await call.join('c', tt), await call.join('d', tt)];
    const subject = await call.join('subject', tt);
    assert.equal(subject.position, 3);

    const { client, res } = await StreamClient.open(base, subject.queue_token);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const first = await client.next(() => true);
    assert.deepEqual(first.data, { status: 'pending', ticket_type_id: tt, quantity: 1, position: 3, ahead: 2, remaining: 2 });
    assert.equal(first.id, 'pending-3-2');

    // Two holds end back to back: the two buyers ahead are admitted, the subject moves to the front.
    await call.cancel(a.queue_token);
    await call.cancel(b.queue_token);
    await client.next((d) => d.position === 1);
    const pending = client.events.filter((e) => e.data.status === 'pending');
    const positions = pending.map((e) => e.data.position as number);
    assert.deepEqual(positions, [...positions].sort((x, y) => y - x), `positions only fall: ${positions}`);
    assert.equal(new Set(positions).size, positions.length, 'no position is sent twice');
    for (let i = 1; i < pending.length; i++) {
      assert.ok(pending[i]!.at - pending[i - 1]!.at >= 950, `position events at most once a second (${pending[i]!.at - pending[i - 1]!.at} ms)`);
    }

    await call.cancel(c.queue_token);
    const held = await client.next((d) => d.status === 'reserved');
    assert.ok(Date.parse(held.data.expires_at as string) > Date.now() + 100_000, 'the hold lasts the configured two minutes');

    const booked = await call.confirm(subject.queue_token);
    const done = await client.next((d) => d.status === 'confirmed');
    assert.deepEqual(done.data, { status: 'confirmed', ticket_type_id: tt, quantity: 1, booking_id: booked.booking_id });
    await client.waitEnd();

    // A reconnecting client that already has the final event is told not to come back.
    const again = await StreamClient.open(base, subject.queue_token, { 'last-event-id': done.id! });
    assert.equal(again.res.status, 204);
    // One without it gets the final event once, and the stream ends.
    const fresh = await StreamClient.open(base, subject.queue_token);
    await fresh.client.waitEnd();
    assert.deepEqual(fresh.client.events.map((e) => e.data.status), ['confirmed']);
    await waitFor('the line channel unsubscribed once no client watches it', () => subscribers(h, tt), { until: (n) => n === 0, timeoutMs: 5_000 });
    await assertStockInvariants(h.ctx.db);
  });

  test('stream.sold-out-buyer-is-told-and-the-stream-ends', async () => {
    const tt = await h.ticketType(1);
    const holder = await call.join('holder', tt);
    await waitFor('the holder held', () => call.status(holder.queue_token), { until: (s) => s.status === 'reserved', timeoutMs: 5_000 });
    const late = await call.join('late', tt);
    const { client } = await StreamClient.open(base, late.queue_token);
    await client.next((d) => d.status === 'pending' && d.remaining === 1);
    await call.confirm(holder.queue_token);
    await client.next((d) => d.status === 'sold_out');
    await client.waitEnd();
  });

  test('stream.reconnect-with-last-event-id-skips-the-repeat', async () => {
    const tt = await h.ticketType(1);
    const holder = await call.join('holder2', tt);
    await waitFor('the holder held', () => call.status(holder.queue_token), { until: (s) => s.status === 'reserved', timeoutMs: 5_000 });
    const waiting = await call.join('waiting2', tt);
    const first = await StreamClient.open(base, waiting.queue_token);
    const seen = await first.client.next(() => true);
    first.client.close();
    const again = await StreamClient.open(base, waiting.queue_token, { 'last-event-id': seen.id! });
    await call.cancel(holder.queue_token);
    const held = await again.client.next((d) => d.status === 'reserved');
    assert.equal(again.client.events.indexOf(held), 0, 'the unchanged pending status is not sent again');
    again.client.close();
  });

  test('stream.rejects-unknown-and-malformed-tokens', async () => {
    const unknown = await app.inject('/queue/stream?token=AAAAAAAAAAAAAAAAAAAAAA.1.0');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'token_not_found');
    for (const url of ['/queue/stream', '/queue/stream?token=nope', '/queue/stream?token=AAAAAAAAAAAAAAAAAAAAAA.1.0&x=1']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().error.code, 'invalid_request');
    }
  });

  test('status.pending-carries-ahead-and-remaining', async () => {
    const tt = await h.ticketType(3);
    const holder = await call.join('big', tt, 3);
    await waitFor('the big buyer held', () => call.status(holder.queue_token), { until: (s) => s.status === 'reserved', timeoutMs: 5_000 });
    await call.join('w1', tt);
    const w2 = await call.join('w2', tt);
    const status = await call.status(w2.queue_token);
    assert.equal(status.position, 2);
    assert.equal(status.ahead, 1);
    assert.equal(status.remaining, 3, 'held stock may come back, so it counts');
  });
});

describe('live stream served by another process than the engine', () => {
  let h: Harness;
  after(() => h?.close());

  test('stream.on-process-a-sees-admission-made-by-process-b', async () => {
    h = await createHarness();
    const appA = await h.app();
    const base = await listen(appA);
    const tt = await h.ticketType(5);
    const joined = await api(appA).join('buyer', tt);
    const { client } = await StreamClient.open(base, joined.queue_token);
    await client.next((d) => d.status === 'pending');
    await h.engine(undefined, h.peer()); // process B: its own Redis and PostgreSQL connections
    const held = await client.next((d) => d.status === 'reserved');
    assert.ok(held.data.expires_at);
    client.close();
  });

  test('stream.shutdown-ends-open-streams-promptly', async () => {
    const app = await h.app();
    const base = await listen(app);
    const tt = await h.ticketType(1);
    const holder = await api(app).join('holder', tt);
    await waitFor('the holder held', () => api(app).status(holder.queue_token), { until: (s) => s.status === 'reserved', timeoutMs: 5_000 });
    const joined = await api(app).join('stuck', tt);
    const { client } = await StreamClient.open(base, joined.queue_token);
    await client.next(() => true);
    const started = Date.now();
    await app.close();
    assert.ok(Date.now() - started < 2_000, `app.close() took ${Date.now() - started} ms with a stream open`);
    await client.waitEnd();
  });
});

describe('live stream with RESERVATION_TTL_SECONDS=2', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ RESERVATION_TTL_SECONDS: '2' });
  });
  after(() => h?.close());

  test('stream.reserved-then-expired', async () => {
    const app = await h.app();
    const base = await listen(app);
    const tt = await h.ticketType(1);
    const joined = await api(app).join('slow', tt);
    const { client } = await StreamClient.open(base, joined.queue_token);
    await h.engine();
    const held = await client.next((d) => d.status === 'reserved');
    const expired = await client.next((d) => d.status === 'expired', 6_000);
    const late = expired.at - Date.parse(held.data.expires_at as string);
    assert.ok(late < 2_500, `expiry reached the stream ${late} ms after the deadline`);
    await client.waitEnd();
    await assertStockInvariants(h.ctx.db);
    assert.equal((await api(app).status(joined.queue_token)).status, 'expired');
  });
});

describe('line figures', () => {
  const figures = () => new LineFigures(undefined as unknown as Db);

  test('figures.rate-follows-the-served-counter-over-the-last-minute', () => {
    const f = figures();
    const t0 = 1_000_000;
    assert.equal(f.admissionRate(1, t0), undefined, 'nothing seen yet');
    f.observeServed(1, 100, t0);
    f.observeServed(1, 110, t0 + 1_000);
    assert.equal(f.admissionRate(1, t0 + 2_000), undefined, 'too short to trust');
    f.observeServed(1, 160, t0 + 10_000);
    assert.equal(f.admissionRate(1, t0 + 10_000), 6, '60 buyers in 10 s');
    assert.equal(f.estimatedWait(1, 30, t0 + 10_000), 5);
    // The line stalls: the rate decays, then is unknown once the window holds no progress.
    assert.equal(f.admissionRate(1, t0 + 20_000), 3);
    assert.equal(f.admissionRate(1, t0 + 80_000), undefined);
    f.observeServed(1, 220, t0 + 85_000);
    assert.equal(f.admissionRate(1, t0 + 85_000), 1, 'measured over the last minute: 60 buyers');
    assert.equal(f.admissionRate(2, t0 + 85_000), undefined, 'per ticket type');
  });

  test('figures.remaining-does-not-wait-on-a-failing-postgresql', async () => {
    const db = createDb('postgres://postgres@127.0.0.1:1/nowhere', pino({ level: 'silent' }));
    try {
      const f = new LineFigures(db);
      assert.equal(await f.remaining(1), undefined);
      f.invalidate(1);
      const started = Date.now();
      assert.equal(await f.remaining(1), undefined);
      assert.ok(Date.now() - started < 50, 'after a failure, status reads take the last figure instead of waiting');
    } finally {
      await db.close();
    }
  });
});
