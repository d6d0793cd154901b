// Prometheus metrics of one process (prom-client), on a registry of its own.
//
// Two kinds of figures. The state of every sale (lines, stock, holds) is shared by all processes,
// so it is read from PostgreSQL and Redis at scrape time: any API process reports the same global
// numbers, and a restart loses nothing. What one process does (HTTP requests, processor batches,
// sweeps) is counted where it happens: sum those across processes in PromQL.
// Admission rate: rate(boxoffice_admitted_total[1m]).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { EXPIRING_WITHIN_SECONDS } from './domain/figures.ts';
import type { EngineHooks } from './engine/index.ts';
import type { LineStore } from './redis/line-store.ts';
import type { Sale } from './sale/sale.ts';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZES = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export interface Metrics {
  registry: Registry;
  /** For startEngine: counts the processor's batches and runs and the sweeper's runs. */
  engineHooks: Required<EngineHooks>;
  /** Fastify onResponse hook: request durations by route and status. */
  observeRequest(req: FastifyRequest, reply: FastifyReply): void;
  /** Refreshes the sale figures, then renders every metric in the Prometheus text format. */
  scrape(): Promise<string>;
}

export function createMetrics(sale: Pick<Sale, 'stats'>, log: Logger, lines: Pick<LineStore, 'unreplicatedJoins'>): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const perTicketType = (name: string, help: string, extra: string[] = []) =>
    new Gauge({ name, help, labelNames: ['ticket_type_id', ...extra], registers });
  const info = perTicketType('boxoffice_ticket_type_info', 'Always 1; names each ticket type.', ['event_id', 'name']);
  const lineLength = perTicketType('boxoffice_line_length', 'Buyers waiting in line.');
  const paused = perTicketType('boxoffice_admission_paused', '1 while the organiser has paused admission.');
  const capacity = perTicketType('boxoffice_capacity', 'Tickets on sale in total.');
  const tickets = perTicketType('boxoffice_tickets', 'Tickets by state; the three states add up to the capacity.', ['state']);
  const holdsActive = perTicketType('boxoffice_holds_active', 'Live holds (buyers who may still confirm).');
  const expiringSoon = perTicketType('boxoffice_holds_expiring_soon', `Live holds that run out within ${EXPIRING_WITHIN_SECONDS} seconds.`);
  // Counters whose truth is in PostgreSQL and Redis: set to the stored total on every scrape.
  const served = new Counter({ name: 'boxoffice_line_served_total', help: 'Buyers who have left the line.', labelNames: ['ticket_type_id'], registers });
  const admitted = new Counter({ name: 'boxoffice_admitted_total', help: 'Buyers admitted (holds granted).', labelNames: ['ticket_type_id'], registers });
  const ended = new Counter({
    name: 'boxoffice_holds_ended_total', help: 'Holds that ended, by outcome.', labelNames: ['ticket_type_id', 'outcome'], registers,
  });
  const figuresUp = new Gauge({ name: 'boxoffice_figures_up', help: '1 when the last scrape could read PostgreSQL and Redis.', registers });

  new Counter({
    name: 'boxoffice_joins_unreplicated_total',
    help: 'Joins this process acknowledged with fewer replicas than REDIS_JOIN_WAIT_REPLICAS asks (a failover could lose them).',
    registers,
    collect() {
      this.reset();
      this.inc(lines.unreplicatedJoins);
    },
  });
  const soldOut = new Counter({
    name: 'boxoffice_sold_out_answers_total', help: 'Buyers told sold_out by this process.', labelNames: ['ticket_type_id'], registers,
  });
  const batchSize = new Histogram({ name: 'boxoffice_processor_batch_size', help: 'Buyers per admitted batch.', buckets: BATCH_SIZES, registers });
  const batchSeconds = new Histogram({
    name: 'boxoffice_processor_batch_duration_seconds', help: 'Time to admit one batch (transaction and settling).', buckets: SECONDS, registers,
  });
  const recoveries = new Counter({
    name: 'boxoffice_processor_recovery_batches_total', help: 'Batches that settled what an interrupted processor left.', registers,
  });
  const runs = new Counter({
    name: 'boxoffice_processor_runs_total', help: 'Runs of a line by the processor, by why each ended (paused, leased, empty, waiting...).',
    labelNames: ['ticket_type_id', 'stopped'], registers,
  });
  const polls = new Counter({ name: 'boxoffice_processor_polls_total', help: 'Polls of the processor (new ticket types, lines waiting for stock).', registers });
  const sweeps = new Counter({ name: 'boxoffice_sweeper_runs_total', help: 'Sweeps run (each releases whatever holds are due, possibly none).', registers });
  const released = new Counter({ name: 'boxoffice_sweeper_released_total', help: 'Expired holds released by the sweeper.', registers });
  const purged = new Counter({ name: 'boxoffice_lines_purged_total', help: 'Finished lines whose Redis keys were removed after their retention.', registers });
  const drawsPlaced = new Counter({
    name: 'boxoffice_draws_placed_total', help: 'Pre-queues drawn into their lines by this process (scheduled on-sale).', registers,
  });
  const drawSeconds = new Histogram({ name: 'boxoffice_draw_duration_seconds', help: 'Time to draw a pre-queue and place it in line.', buckets: SECONDS, registers });
  const transitions = new Counter({
    name: 'boxoffice_sale_transitions_total', help: 'Scheduled sales opened or closed by this process.', labelNames: ['transition'], registers,
  });
  const sweepSeconds = new Histogram({ name: 'boxoffice_sweeper_run_duration_seconds', help: 'Time of one sweep.', buckets: SECONDS, registers });
  const deliveries = new Counter({
    name: 'boxoffice_webhook_attempts_total',
    help: 'Webhook delivery attempts by this process, by what they left the delivery as (delivered, pending: to be retried, failed: given up, lost).',
    labelNames: ['left'], registers,
  });
  const http = new Histogram({
    name: 'boxoffice_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: SECONDS,
    registers,
  });

  const shared = [info, lineLength, paused, capacity, tickets, holdsActive, expiringSoon, served, admitted, ended];

  async function refresh(): Promise<void> {
    let stats;
    try {
      stats = await sale.stats();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'metrics: sale figures unavailable');
      for (const m of shared) m.reset();
      figuresUp.set(0);
      return;
    }
    for (const m of shared) m.reset();
    for (const t of stats) {
      const id = { ticket_type_id: t.id };
      info.set({ ...id, event_id: t.event_id, name: t.name }, 1);
      lineLength.set(id, t.waiting);
      paused.set(id, t.paused ? 1 : 0);
      capacity.set(id, t.capacity);
      tickets.set({ ...id, state: 'available' }, t.quantity_available);
      tickets.set({ ...id, state: 'held' }, t.held);
      tickets.set({ ...id, state: 'confirmed' }, t.confirmed);
      holdsActive.set(id, t.holds_active);
      expiringSoon.set(id, t.expiring_soon);
      served.inc(id, t.served);
      admitted.inc(id, t.admitted);
      ended.inc({ ...id, outcome: 'confirmed' }, t.holds_confirmed);
      ended.inc({ ...id, outcome: 'expired' }, t.holds_expired);
      ended.inc({ ...id, outcome: 'cancelled' }, t.holds_cancelled);
    }
    figuresUp.set(1);
  }

  return {
    registry,
    engineHooks: {
      onBatch(report) {
        batchSize.observe(report.granted + report.soldOut + report.waiting);
        batchSeconds.observe(report.ms / 1000);
        if (report.soldOut) soldOut.inc({ ticket_type_id: report.ticketTypeId }, report.soldOut);
        if (report.recovery) recoveries.inc();
      },
      onPoll() {
        polls.inc();
      },
      onRun(report) {
        runs.inc({ ticket_type_id: report.ticketTypeId, stopped: report.stopped });
      },
      onSweep(report) {
        sweeps.inc();
        released.inc(report.released);
        sweepSeconds.observe(report.ms / 1000);
      },
      onPurge() {
        purged.inc();
      },
      onDraw(report) {
        drawsPlaced.inc();
        drawSeconds.observe(report.ms / 1000);
      },
      onTransition(report) {
        transitions.inc({ transition: report.transition });
      },
      onDelivery(report) {
        deliveries.inc({ left: report.left });
      },
    },
    observeRequest(req, reply) {
      // The route pattern, never the raw URL: ids and tokens would explode the label set.
      const route = req.routeOptions.url ?? 'unmatched';
      http.observe({ method: req.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
    },
    async scrape() {
      await refresh();
      return registry.metrics();
    },
  };
}
