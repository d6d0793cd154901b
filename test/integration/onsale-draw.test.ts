// The pre-queue's draw (issue 13): 2,000 buyers in the pre-queue, the draw at the opening, 500 more
// joins after it. Holds follow the draw order, then join order; the published draw is recomputed
// here with code of the test's own; verify-draw accepts it and rejects a changed secret, digest or order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { createHarness, type Harness } from '../helpers/harness.ts';
import type { DrawReport } from '../../src/engine/draw.ts';
import type { Joined } from '../../src/sale/sale.ts';
import { assertLineInvariants, assertStatusesAgree, assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);
const PREQUEUE = 2_000;
const AFTER = 500;

/** The draw of docs/fairness.md, written again from the text: the test trusts nothing of the server's. */
function independentDraw(secretHex: string, entryIds: string[]) {
  const secret = Buffer.from(secretHex, 'hex');
  const digest = createHash('sha256').update([...entryIds].sort().join('\n')).digest('hex');
  const seed = createHmac('sha256', secret).update(digest).digest();
  const order = entryIds
    .map((id) => ({ id, key: createHmac('sha256', seed).update(id).digest('hex') }))
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((e) => e.id);
  return { commitment: createHash('sha256').update(secret).digest('hex'), digest, seed: seed.toString('hex'), order };
}

async function verifyDraw(base: string, ticketTypeId: number, receipt?: string): Promise<{ code: number; output: string }> {
  const args = ['--import', 'tsx', 'scripts/verify-draw.ts', base, String(ticketTypeId), ...(receipt ? ['--receipt', receipt] : [])];
  try {
    const { stdout, stderr } = await run(process.execPath, args);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('the pre-queue draw', () => {
  let h: Harness;
  let app: FastifyInstance;
  let base: string;
  const draws: DrawReport[] = [];
  before(async () => {
    h = await createHarness();
    app = await h.app();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await h.engine({ onDraw: (r) => draws.push(r) });
  });
  after(() => h.close());

  test('draw.2000-in-the-prequeue-then-500-after-the-opening-hold-in-draw-then-join-order', { timeout: 120_000 }, async () => {
    const event = await h.sale.createEvent({ name: 'Draw night', starts_at: new Date(Date.now() + 86_400_000).toISOString() });
    const { id: tt, draw_commitment: commitment } = await h.sale.addTicketType(event.id, {
      name: 'Drawn', price: '10.00', capacity: PREQUEUE + AFTER,
      prequeue_opens_at: new Date(Date.now() - 1_000).toISOString(), sale_starts_at: new Date(Date.now() + 600_000).toISOString(),
    });
    const prequeued: Joined[] = [];
    for (let i = 0; i < PREQUEUE; i += 250) {
      prequeued.push(...(await Promise.all(Array.from({ length: 250 }, (_, j) =>
        h.sale.join({ userId: `early-${i + j}@example.com`, ticketTypeId: tt, quantity: 1 })))));
    }
    assert.ok(prequeued.every((j) => j.status === 'prequeue' && j.drawCommitment === commitment));
    assert.equal(new Set(prequeued.map((j) => j.entryId)).size, PREQUEUE, 'entry ids are distinct');
    assert.equal((await app.inject(`/ticket-types/${tt}/draw`)).json().entries, PREQUEUE);

    // Bring the opening forward; the engine's clock sees it within a second, a join at once.
    const opening = Date.now() + 1_500;
    await h.sale.changeTicketType(tt, { sale_starts_at: new Date(opening).toISOString() });
    await waitFor('the opening', () => Date.now() >= opening, { timeoutMs: 5_000 });
    const later: Joined[] = [];
    for (let i = 0; i < AFTER; i++) later.push(await h.sale.join({ userId: `late-${i}@example.com`, ticketTypeId: tt, quantity: 1 }));
    assert.ok(later.every((j) => j.status === 'pending'), 'after the opening, joins go to the line');

    await waitFor('every buyer held', async () => (await h.ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM reservations WHERE ticket_type_id = $1', [tt])).rows[0]!.n === PREQUEUE + AFTER, { timeoutMs: 60_000 });
    const published = (await app.inject(`/ticket-types/${tt}/draw`)).json();
    assert.equal(published.state, 'drawn');
    const mine = independentDraw(published.secret, prequeued.map((j) => j.entryId));
    assert.equal(mine.commitment, commitment, 'the secret is the one committed to before the first entry');
    assert.equal(published.entries_digest, mine.digest);
    assert.equal(published.seed, mine.seed);
    assert.deepEqual(published.order, mine.order, 'the published order is the draw of the entries');

    const tokenOf = new Map(prequeued.map((j) => [j.entryId, j.token]));
    const expected = [...mine.order.map((id) => tokenOf.get(id)!), ...later.map((j) => j.token)];
    const { rows } = await h.ctx.db.query<{ token: string }>('SELECT token FROM reservations WHERE ticket_type_id = $1 ORDER BY id', [tt]);
    assert.deepEqual(rows.map((r) => r.token), expected, 'holds follow the draw order, then join order');
    const admissions: string[] = [];
    for (let offset: number | undefined = 0; offset !== undefined;) {
      const res = await app.inject(`/ticket-types/${tt}/admissions?offset=${offset}&limit=1000`);
      const page = res.json() as { admissions: string[]; next_offset?: number };
      admissions.push(...page.admissions);
      offset = page.next_offset;
    }
    assert.deepEqual(admissions, [...mine.order, ...later.map((j) => j.entryId)], 'the admissions list, page by page');
    assert.deepEqual((await app.inject(`/ticket-types/${tt}/draw`)).json(), published, 'the drawn draw, served again from memory');
    assert.deepEqual(draws.map((d) => [d.ticketTypeId, d.entries]), [[tt, PREQUEUE]], 'one placement, by this process');

    const line = await assertLineInvariants(h.ctx, tt);
    await assertStatusesAgree(h.ctx, tt, line);
    await assertStockInvariants(h.ctx.db);
    assert.equal(await h.ctx.redis.exists(h.ctx.keys.line(tt).prequeue), 0, 'the pre-queue list is gone once placed');

    // verify-draw, with the receipt of the buyer drawn 17th, and of one who joined after the opening.
    const seventeenth = prequeued.find((j) => j.entryId === mine.order[16])!;
    const checked = await verifyDraw(base, tt, seventeenth.receipt);
    assert.equal(checked.code, 0, checked.output);
    assert.match(checked.output, new RegExp(`place 17 of ${PREQUEUE}`));
    const lineReceipt = await verifyDraw(base, tt, later[0]!.receipt);
    assert.equal(lineReceipt.code, 0, lineReceipt.output);
    assert.match(lineReceipt.output, new RegExp(`number ${PREQUEUE + 1}: behind every drawn entry`));

    // A server that publishes anything else is caught, and told what does not match.
    const order = [...published.order];
    [order[0], order[1]] = [order[1], order[0]];
    const tampered: [string, object, RegExp][] = [
      ['secret', { ...published, secret: createHash('sha256').update('another').digest('hex') }, /MISMATCH commitment/],
      ['digest', { ...published, entries_digest: mine.seed }, /MISMATCH entries digest/],
      ['order', { ...published, order }, /MISMATCH order .*: place 1 should be/],
      ['entries', { ...published, order: published.order.slice(1) }, /MISMATCH entries digest/],
    ];
    for (const [what, body, expectedLine] of tampered) {
      const fake = await serveDraw(base, tt, body);
      try {
        const result = await verifyDraw(fake.url, tt, seventeenth.receipt);
        assert.equal(result.code, 1, `a changed ${what} fails verify-draw:\n${result.output}`);
        assert.match(result.output, expectedLine);
      } finally {
        fake.server.close();
      }
    }
    const forged = `${seventeenth.receipt.slice(0, -4)}AAAA`;
    const bad = await verifyDraw(base, tt, forged);
    assert.equal(bad.code, 1);
    assert.match(bad.output, /MISMATCH receipt signature/);
  });
});

/** A server that publishes `draw` for the ticket type and passes everything else to the real one. */
async function serveDraw(realBase: string, ticketTypeId: number, draw: object): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(async (req, res) => {
    if (req.url === `/ticket-types/${ticketTypeId}/draw`) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(draw));
      return;
    }
    const real = await fetch(new URL(req.url!, realBase));
    res.writeHead(real.status, { 'content-type': real.headers.get('content-type') ?? 'application/json' }).end(await real.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
