// Who bought (issue 14): an event's bookings as JSON pages that follow a cursor, and as CSV
// streamed from a PostgreSQL cursor: 200,000 bookings pass through a real server process whose heap
// could not hold them all at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { parse } from 'csv-parse/sync';
import { assertStockInvariants } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice } from '../../support/processes.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN, post } from '../helpers/sale.ts';

type App = Awaited<ReturnType<Harness['app']>>;

/**
 * An event with `count` confirmed single-ticket bookings, written straight to the tables (I1 holds),
 * 10,000 to a statement: each stays well inside DATABASE_TIMEOUT_MS on a loaded machine.
 */
async function seedBookings(h: Harness, count: number, currency: string, price: string, userId = "'buyer-' || g || '@example.com'") {
  const { rows: [created] } = await h.ctx.db.query<{ event_id: number; ticket_type_id: number }>(
    `WITH e AS (INSERT INTO events (name, starts_at, currency) VALUES ('Arena night', now() + interval '1 day', $2) RETURNING id)
     INSERT INTO ticket_types (event_id, name, price, capacity, quantity_available, max_per_order)
     SELECT id, 'Arena', $3::numeric, $1, 0, 1 FROM e RETURNING event_id, id AS ticket_type_id`,
    [count, currency, price],
  );
  for (let from = 1; from <= count; from += 10_000) {
    await h.ctx.db.query(
      `WITH r AS (INSERT INTO reservations (token, ticket_type_id, user_id, quantity, status, expires_at, confirmed_at)
                  SELECT 'seed' || g || '-' || $1::bigint, $1::bigint, ${userId}, 1, 'confirmed', now() + interval '2 minutes', now()
                  FROM generate_series($2::int, $3::int) g RETURNING id)
       INSERT INTO ticket_bookings (reservation_id) SELECT id FROM r`,
      [created!.ticket_type_id, from, Math.min(count, from + 9_999)],
    );
  }
  return created!;
}

describe('bookings export', () => {
  let h: Harness;
  let app: App;
  before(async () => {
    h = await createHarness();
    app = await h.app();
  });
  after(async () => {
    await killAll();
    await h.close();
  });

  test('bookings.json-pages-follow-the-cursor', async () => {
    const { event_id: eventId, ticket_type_id: ticketTypeId } = await seedBookings(h, 25, 'EUR', '49.5');
    const seen: { booking_id: number }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Awaited<ReturnType<App['inject']>> = await app.inject({ url: `/admin/events/${eventId}/bookings?limit=10${cursor ? `&after=${cursor}` : ''}`, headers: ADMIN });
      assert.equal(res.statusCode, 200, res.body);
      seen.push(...res.json().bookings);
      cursor = res.json().next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.equal(seen.length, 25);
    assert.deepEqual(seen.map((b) => b.booking_id), [...seen.map((b) => b.booking_id)].sort((a, b) => a - b), 'in booking order');
    assert.deepEqual(Object.keys(seen[0]!).sort(),
      ['booking_id', 'confirmed_at', 'currency', 'hold_id', 'quantity', 'ticket_type', 'ticket_type_id', 'unit_price', 'user_id']);
    assert.deepEqual({ ...seen[0], booking_id: 0, hold_id: 0, confirmed_at: '' }, {
      booking_id: 0, hold_id: 0, ticket_type_id: ticketTypeId, ticket_type: 'Arena', user_id: 'buyer-1@example.com', quantity: 1,
      unit_price: '49.5', currency: 'EUR', confirmed_at: '',
    });
    assert.equal((await app.inject({ url: '/admin/events/999999/bookings', headers: ADMIN })).statusCode, 404);
    assert.equal((await app.inject({ url: `/admin/events/${eventId}/bookings?after=-1`, headers: ADMIN })).statusCode, 400);
    assert.equal((await app.inject({ url: `/admin/events/${eventId}/bookings?limit=0`, headers: ADMIN })).statusCode, 400);
    assert.equal((await app.inject({ url: `/admin/events/${eventId}/bookings` })).statusCode, 401);
  });

  test('bookings.csv-has-a-header-the-currency-and-no-formulas', async () => {
    // The user ids begin with =, as a formula would: a spreadsheet must not run them.
    const { event_id: eventId } = await seedBookings(h, 3, 'JPY', '5000', `'=HYPERLINK(' || g || ')'`);
    const res = await app.inject({ url: `/admin/events/${eventId}/bookings.csv`, headers: ADMIN });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/csv/);
    assert.match(res.headers['content-disposition'] as string, new RegExp(`attachment; filename="event-${eventId}-bookings.csv"`));
    const records = parse(res.body, { columns: true }) as Record<string, string>[];
    assert.equal(records.length, 3);
    assert.deepEqual(Object.keys(records[0]!),
      ['booking_id', 'hold_id', 'ticket_type_id', 'ticket_type', 'user_id', 'quantity', 'unit_price', 'currency', 'confirmed_at']);
    assert.equal(records[0]!.user_id, "'=HYPERLINK(1)");
    assert.equal(records[0]!.unit_price, '5000');
    assert.equal(records[0]!.currency, 'JPY');
    assert.ok(!Number.isNaN(Date.parse(records[0]!.confirmed_at!)));
    assert.equal((await app.inject({ url: '/admin/events/999999/bookings.csv', headers: ADMIN })).statusCode, 404);
  });

  test('bookings.csv-of-200000-streams-within-a-heap-too-small-to-hold-them', async () => {
    const { event_id: eventId } = await seedBookings(h, 200_000, 'EUR', '49.00');
    // The server runs with a heap of HEAP_MB: it lives in about 30 MB, and a stream adds a page of
    // rows and a few buffers. The 200,000 rows read whole do not fit beside that (a server changed
    // to read them whole died of it here), and V8 ends a process whose heap is full. Neither time
    // nor RSS tells the two apart: the kernel's socket buffers on loopback take tens of MB, and
    // RSS moves with the collector.
    const HEAP_MB = 64;
    const server = await startBoxoffice({
      role: 'api', env: { ...configEnv(h.config), LOG_LEVEL: 'warn' }, nodeArgs: [`--max-old-space-size=${HEAP_MB}`],
    });
    const started = performance.now();
    const { lines, bytes } = await new Promise<{ lines: number; bytes: number }>((resolve, reject) => {
      http.get(`${server.url}/admin/events/${eventId}/bookings.csv`, { headers: ADMIN }, (res) => {
        assert.equal(res.statusCode, 200);
        let lines = 0;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (const b of chunk) if (b === 10) lines++;
        });
        res.on('end', () => resolve({ lines, bytes }));
        res.on('error', reject);
      }).on('error', reject);
    });
    console.log(`# 200,000 bookings: ${(bytes / 1e6).toFixed(1)} MB of CSV in ${((performance.now() - started) / 1000).toFixed(1)} s `
      + `from a server with a ${HEAP_MB} MB heap`);
    assert.equal(lines, 200_001, 'a header and every booking');
    assert.ok(server.running, `the server died during the export:\n${server.tail()}`);
    await server.stop();
    await assertStockInvariants(h.ctx.db);
  });
});
