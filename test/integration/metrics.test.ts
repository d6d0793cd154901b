// GET /metrics, read by a real Prometheus text parser, tells the same figures as GET /admin/stats
// after a small sale (issue 7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat, { type Family, type Sample } from 'parse-prometheus-text-format';
import { buildApp } from '../../src/api/app.ts';
import { createContext } from '../../src/context.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Sale } from '../../src/sale/sale.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { join, post, stats, waitForStatus, type StatsRow } from '../helpers/sale.ts';

type App = Awaited<ReturnType<typeof buildApp>>;

interface Scrape {
  /** Metric family name to its declared type. */
  types: Map<string, Family['type']>;
  /** Series name (histograms as name_bucket, name_sum, name_count) to its samples. */
  series: Map<string, Sample[]>;
}

/**
 * Reads an exposition with parse-prometheus-text-format. The library folds a histogram with
 * labels into one unlabelled sample (its open issue #13), so histograms are read a second time
 * without their TYPE line, as the plain _bucket/_sum/_count series, which it parses with labels.
 */
function parseExposition(text: string): Scrape {
  const types = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f.type]));
  const series = new Map<string, Sample[]>();
  for (const f of parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram$/gm, ''))) {
    series.set(f.name, [...(series.get(f.name) ?? []), ...f.metrics]);
  }
  return { types, series };
}

async function scrape(app: App): Promise<Scrape> {
  const res = await app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body);
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value({ series }: Scrape, name: string, labels: Record<string, string> = {}): number {
  const samples = series.get(name);
  assert.ok(samples, `series ${name} is exported`);
  const matches = samples.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.equal(matches.length, 1, `one ${name} sample for ${JSON.stringify(labels)}`);
  return Number(matches[0]!.value);
}

describe('metrics after a small sale', () => {
  let h: Harness;
  let app: App;
  let main: number; // capacity 3: confirmed, cancelled, expired and live holds
  let soldOut: number; // capacity 1: one buyer confirms, the next is told sold_out
  let paused: number; // paused before two buyers joined
  before(async () => {
    // The sweeper's safety net every second picks up the backdated hold quickly.
    h = await createHarness({ CLEANUP_INTERVAL_SECONDS: '1' });
    const metrics = createMetrics(h.sale, h.ctx.log, h.ctx.lines);
    app = await buildApp(h.ctx, { logger: false, sale: h.sale, metrics });
    await h.engine(metrics.engineHooks);
    [main, soldOut, paused] = [await h.ticketType(3), await h.ticketType(1), await h.ticketType(5)];

    const buyers = [];
    for (let i = 1; i <= 5; i++) buyers.push(await join(app, main, `buyer-${i}`));
    for (const t of buyers.slice(0, 3)) await waitForStatus(app, t, 'reserved');
    assert.equal((await post(app, '/reservation/confirm', { token: buyers[0] })).statusCode, 200);
    assert.equal((await post(app, '/reservation/cancel', { token: buyers[1] })).statusCode, 200);
    await waitForStatus(app, buyers[3]!, 'reserved');
    // Buyer 3's hold runs out: backdated rather than waited for.
    await h.ctx.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE token = $1`, [buyers[2]]);
    await waitForStatus(app, buyers[2]!, 'expired');
    await waitForStatus(app, buyers[4]!, 'reserved');

    const first = await join(app, soldOut, 'early');
    await waitForStatus(app, first, 'reserved');
    await post(app, '/reservation/confirm', { token: first });
    await waitForStatus(app, await join(app, soldOut, 'late'), 'sold_out');

    await post(app, `/admin/ticket-types/${paused}/pause`);
    await join(app, paused, 'patient-1');
    await join(app, paused, 'patient-2');
  });
  after(() => h.close());

  test('metrics.sale-figures-match-admin-stats', async () => {
    const rows = await stats(app);
    const families = await scrape(app);
    assert.equal(value(families, 'boxoffice_figures_up'), 1);
    for (const [id, t] of rows) {
      const l = { ticket_type_id: String(id) };
      const checks: [string, Record<string, string>, keyof StatsRow][] = [
        ['boxoffice_line_length', l, 'waiting'],
        ['boxoffice_line_served_total', l, 'served'],
        ['boxoffice_capacity', l, 'capacity'],
        ['boxoffice_tickets', { ...l, state: 'available' }, 'quantity_available'],
        ['boxoffice_tickets', { ...l, state: 'held' }, 'held'],
        ['boxoffice_tickets', { ...l, state: 'confirmed' }, 'confirmed'],
        ['boxoffice_holds_active', l, 'holds_active'],
        ['boxoffice_holds_expiring_soon', l, 'expiring_soon'],
        ['boxoffice_admitted_total', l, 'admitted'],
        ['boxoffice_holds_ended_total', { ...l, outcome: 'confirmed' }, 'holds_confirmed'],
        ['boxoffice_holds_ended_total', { ...l, outcome: 'expired' }, 'holds_expired'],
        ['boxoffice_holds_ended_total', { ...l, outcome: 'cancelled' }, 'holds_cancelled'],
      ];
      for (const [name, labels, field] of checks) {
        assert.equal(value(families, name, labels), Number(t[field]), `${name} ${JSON.stringify(labels)} = stats.${field}`);
      }
      assert.equal(value(families, 'boxoffice_admission_paused', l), t.paused ? 1 : 0);
    }
  });

  test('metrics.figures-are-the-sales-actual-outcome', async () => {
    const rows = await stats(app);
    const pick = (t: StatsRow) => ({
      available: t.quantity_available, held: t.held, confirmed: t.confirmed, waiting: t.waiting, admitted: t.admitted,
      expired: t.holds_expired, cancelled: t.holds_cancelled, paused: t.paused,
    });
    assert.deepEqual(pick(rows.get(main)!), {
      available: 0, held: 2, confirmed: 1, waiting: 0, admitted: 5, expired: 1, cancelled: 1, paused: false,
    });
    assert.deepEqual(pick(rows.get(soldOut)!), {
      available: 0, held: 0, confirmed: 1, waiting: 0, admitted: 1, expired: 0, cancelled: 0, paused: false,
    });
    assert.deepEqual(pick(rows.get(paused)!), {
      available: 5, held: 0, confirmed: 0, waiting: 2, admitted: 0, expired: 0, cancelled: 0, paused: true,
    });
    assert.equal(rows.get(main)!.expiring_soon, 0, 'holds of 120 s are not about to expire');
    assert.ok(rows.get(main)!.next_expiry, 'the soonest live hold is named');
  });

  test('metrics.engine-and-http-activity-are-counted', async () => {
    const families = await scrape(app);
    assert.equal(value(families, 'boxoffice_sold_out_answers_total', { ticket_type_id: String(soldOut) }), 1);
    assert.equal(families.types.get('boxoffice_processor_batch_size'), 'HISTOGRAM');
    assert.ok(value(families, 'boxoffice_processor_batch_size_count') >= 4, 'batches observed');
    assert.ok(value(families, 'boxoffice_processor_batch_size_sum') >= 7, 'every admitted or sold-out buyer went through a batch');
    assert.ok(value(families, 'boxoffice_processor_batch_duration_seconds_count') >= 4);
    assert.equal(value(families, 'boxoffice_sweeper_released_total'), 1);
    assert.ok(value(families, 'boxoffice_sweeper_runs_total') >= 1);

    assert.equal(families.types.get('boxoffice_http_request_duration_seconds'), 'HISTOGRAM');
    const joins = { method: 'POST', route: '/queue/join', status_code: '202' };
    assert.equal(value(families, 'boxoffice_http_request_duration_seconds_count', joins), 9, 'every join of the sale');
    assert.equal(value(families, 'boxoffice_http_request_duration_seconds_bucket', { ...joins, le: '+Inf' }), 9);
    const routes = new Set(families.series.get('boxoffice_http_request_duration_seconds_count')!.map((m) => m.labels!.route!));
    assert.ok(routes.has('/reservation/status'));
    assert.ok(routes.has('/admin/ticket-types/:id/pause'), 'route patterns, not raw URLs');
    for (const route of routes) assert.ok(route === 'unmatched' || !/\d|token/.test(route.replaceAll(':id', '')), `route label ${route}`);
  });

  test('metrics.process-metrics-are-exported', async () => {
    const families = await scrape(app);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok(families.types.has(name), name);
    }
  });

  test('metrics.unmatched-urls-share-one-label', async () => {
    await app.inject('/no/such/route/123');
    const families = await scrape(app);
    assert.ok(value(families, 'boxoffice_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }) >= 1);
  });

  test('metrics.backends-down-still-serves-process-metrics', async () => {
    // Nothing listens on port 1: every query fails at once.
    const ctx = createContext({ ...h.config, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      const families = parseExposition(await createMetrics(new Sale(ctx, h.sale.signer), ctx.log, ctx.lines).scrape());
      assert.equal(value(families, 'boxoffice_figures_up'), 0);
      assert.ok(families.types.has('process_cpu_user_seconds_total'));
      assert.equal(families.series.get('boxoffice_line_length')?.length ?? 0, 0, 'no stale sale figures');
    } finally {
      await ctx.close();
    }
  });
});
