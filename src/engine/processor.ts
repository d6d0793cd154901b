// Admits queued buyers in join order, in batches, one ticket type per lease holder (DESIGN.md).
// Event-driven, with no work list of its own: a line is on the work list while its own `awake`
// flag is set (the join that found it idle sets it and sends the line's wake on its sharded
// channel; a take that finds the line empty clears it), and stock coming back sends the same wake.
// A line whose head waits for stock is parked: nothing is spent on it until a wake, or until its
// stock in PostgreSQL differs from what the head was measured against (one query a poll for all
// parked lines). A full scan of the lines' flags covers what pub/sub can lose: it runs at start,
// after the subscription reconnects, and every few minutes as a last resort.
import type { Context } from '../context.ts';
import { ticketTypesSince } from '../db/catalog.ts';
import { admitBatch, cancelHold, processorEpoch, stockOf, type LineStock } from '../db/holds.ts';
import type { Candidate } from '../domain/record.ts';
import type { DrawPlacer } from './draw.ts';

// How long a line stays stuck when its processor dies: a live one renews the lease on every batch
// (a batch takes milliseconds), and one that stalls past it is fenced out, costing only a replay.
const LEASE_MS = 3_000;
const POLL_MS = 2_000;
const FULL_SCAN_MS = 300_000;
/** A run that failed (Redis or PostgreSQL down) is tried again after this long. */
const RETRY_MS = 1_000;

export interface BatchReport {
  ticketTypeId: number;
  granted: number;
  soldOut: number;
  waiting: number;
  recovery: boolean;
  ms: number;
}

/**
 * How a run of one line ended: paused by the organiser, leased by another processor, the line ran
 * dry, its head waits for stock, the lease was lost mid-run, or the processor is stopping.
 */
export type RunEnd = 'paused' | 'leased' | 'empty' | 'waiting' | 'lease_lost' | 'stopping';

export interface RunReport {
  ticketTypeId: number;
  stopped: RunEnd;
}

export interface ProcessorHooks {
  onBatch?: (report: BatchReport) => void;
  onRun?: (report: RunReport) => void;
  /** After every poll (new ticket types, parked lines, and now and then the full scan). */
  onPoll?: () => void;
}

/** How the processor hears a line's wake: it names the lines it wants to hear of. */
export interface WakeSource {
  listen(ticketTypeIds: number[]): Promise<void>;
}

export class Processor {
  private readonly running = new Map<number, Promise<void>>();
  private readonly again = new Set<number>();
  /** Lines whose head waits for stock, with the stock it was measured against. */
  private readonly parked = new Map<number, LineStock>();
  private readonly retries = new Map<number, NodeJS.Timeout>();
  /** The newest ticket type whose wakes this processor listens to. */
  private newestKnown = 0;
  private lastFullScan = 0;
  private stopped = false;
  private pollTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: Context,
    private readonly wakes: WakeSource,
    private readonly hooks: ProcessorHooks = {},
    /** Places a sealed pre-queue in the line before anybody is admitted (scheduled on-sale). */
    private readonly placer?: DrawPlacer,
  ) {}

  /** Listens to every line's wake, looks at every line on the work list (this also settles what a crashed processor left), then polls. */
  async start(): Promise<void> {
    await this.fullScan();
    this.schedulePoll();
  }

  /** Stops taking work and waits for the batches in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    for (const timer of this.retries.values()) clearTimeout(timer);
    await Promise.all(this.running.values());
  }

  /** Runs the ticket type's line now, or once more right after the run in progress. */
  wake(ticketTypeId: number): void {
    if (this.stopped) return;
    this.parked.delete(ticketTypeId);
    if (this.running.has(ticketTypeId)) {
      this.again.add(ticketTypeId);
      return;
    }
    const run = this.drain(ticketTypeId)
      .then((stopped) => {
        this.hooks.onRun?.({ ticketTypeId, stopped });
        // The lease ran out under us: another processor took the line, or nobody did (a batch
        // waited past the lease for a PostgreSQL connection, with many lines draining at once in
        // this process) and no wake will come for buyers already in line. Look again at once:
        // if the line is another's, that run ends 'leased' and looks again when its lease ends.
        if (stopped === 'lease_lost') this.again.add(ticketTypeId);
      })
      .catch((err: Error) => {
        this.ctx.log.error({ err, ticketTypeId }, 'processor run failed; trying again shortly');
        this.retryAfter(ticketTypeId, RETRY_MS * (0.5 + Math.random()));
      })
      .finally(() => {
        this.running.delete(ticketTypeId);
        if (this.again.delete(ticketTypeId)) this.wake(ticketTypeId);
      });
    this.running.set(ticketTypeId, run);
  }

  /**
   * Looks at every live line whose flag says it has buyers: at start, after the wake subscription
   * was lost for a while (messages sent meanwhile are gone), and as the poll's last resort.
   */
  async fullScan(): Promise<void> {
    this.lastFullScan = Date.now();
    const ticketTypes = await ticketTypesSince(this.ctx.db, 0);
    await this.listenTo(ticketTypes.map((t) => t.id));
    const live = ticketTypes.filter((t) => t.live).map((t) => t.id);
    for (const id of await this.ctx.lines.awakeLines(live)) if (!this.parked.has(id)) this.wake(id);
  }

  private async listenTo(ids: number[]): Promise<void> {
    const fresh = ids.filter((id) => id > this.newestKnown);
    if (!fresh.length) return;
    await this.wakes.listen(fresh);
    this.newestKnown = Math.max(...fresh);
  }

  private retryAfter(ticketTypeId: number, ms: number): void {
    if (ms <= 0 || this.stopped || this.retries.has(ticketTypeId)) return; // no lease, or no expiry: paused
    this.retries.set(ticketTypeId, setTimeout(() => {
      this.retries.delete(ticketTypeId);
      this.wake(ticketTypeId);
    }, ms + 10));
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      try {
        await this.poll();
        this.hooks.onPoll?.();
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message }, 'processor poll failed');
      }
      this.schedulePoll();
    }, POLL_MS * (0.75 + Math.random() / 2));
  }

  /** A ticket type was created (PostgreSQL says so): listen to its wakes now, not at the next poll. */
  ticketTypeCreated(): void {
    this.poll().catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'processor poll failed'));
  }

  /**
   * New ticket types: listen to their wakes, and look at their lines (a join may have come before
   * the listening). Parked lines whose stock changed without a wake reaching us: look again.
   */
  private async poll(): Promise<void> {
    if (Date.now() - this.lastFullScan > FULL_SCAN_MS) return this.fullScan();
    const added = await ticketTypesSince(this.ctx.db, this.newestKnown);
    await this.listenTo(added.map((t) => t.id));
    for (const id of await this.ctx.lines.awakeLines(added.map((t) => t.id))) this.wake(id);
    if (!this.parked.size) return;
    const stock = await stockOf(this.ctx.db, [...this.parked.keys()]);
    for (const [id, measured] of this.parked) {
      const now = stock.get(id);
      if (now && (now.available !== measured.available || now.held !== measured.held)) this.wake(id);
    }
  }

  private async drain(ticketTypeId: number): Promise<RunEnd> {
    const { lines, instanceId, config } = this.ctx;
    let epoch = await lines.lease(ticketTypeId, instanceId, LEASE_MS);
    if (!epoch) {
      // Another processor has this line and was woken too. Should it have died, its lease runs
      // out unrenewed: look again then, rather than at the next poll.
      const ttl = await lines.leaseRemainingMs(ticketTypeId);
      this.retryAfter(ticketTypeId, ttl);
      return ttl === -1 ? 'paused' : 'leased';
    }
    try {
      const unfinished = await lines.revocations(ticketTypeId);
      if (unfinished.length) await this.revoke(ticketTypeId, unfinished);
      while (!this.stopped) {
        const taken = await lines.take(ticketTypeId, instanceId, config.PROCESSOR_BATCH_SIZE, LEASE_MS);
        if (taken.kind === 'lost') return 'lease_lost'; // whoever holds the lease now recovers our batch
        if (taken.kind === 'draw') {
          if (!this.placer) throw new Error(`ticket type ${ticketTypeId}: a sealed pre-queue and no draw placer`);
          if ((await this.placer.place(ticketTypeId, instanceId)) === 'lost') return 'lease_lost';
          continue;
        }
        if (taken.kind === 'empty') return 'empty'; // the take cleared the line's flag: the next join wakes us
        if (!taken.candidates.length) {
          // The whole batch had cancelled in line: nothing for PostgreSQL; they leave the line.
          const nobody = { granted: [], soldOut: [], waiting: [], expiresAt: new Date(), dropped: taken.dropped };
          if ((await lines.settle(ticketTypeId, epoch, nobody)).kind === 'fenced') return 'lease_lost';
          continue;
        }
        const outcome = await this.admit(ticketTypeId, epoch, taken.candidates, taken.recovery, taken.dropped);
        if (outcome === 'fenced') {
          // PostgreSQL saw a newer epoch. While we still hold the lease nobody newer exists: Redis
          // lost its counter (restarted without AOF), so move it past PostgreSQL's and retry.
          epoch = await lines.reepoch(ticketTypeId, instanceId, (await processorEpoch(this.ctx.db, ticketTypeId)) + 1);
          if (!epoch) return 'lease_lost';
          continue;
        }
        if (outcome === 'taken-over') return 'lease_lost'; // another processor took the line over and replays this batch
        // The head waits for stock (a returned hold wakes us); after a replay, `waiting` are
        // buyers the interrupted batch left undecided, for the next batch.
        if (outcome.stock) {
          this.parked.set(ticketTypeId, outcome.stock);
          return 'waiting';
        }
      }
      return 'stopping';
    } finally {
      await lines.unlease(ticketTypeId, instanceId).catch(() => undefined);
    }
  }

  private async admit(ticketTypeId: number, epoch: number, candidates: Candidate[], recovery: boolean, dropped: number) {
    const { db, lines, config, log } = this.ctx;
    const started = performance.now();
    const outcome = await db.withTransaction((client) =>
      admitBatch(client, ticketTypeId, epoch, candidates, config.RESERVATION_TTL_SECONDS, recovery),
    );
    if (!outcome) {
      log.warn({ ticketTypeId, epoch }, 'batch fenced out: PostgreSQL has seen a newer processor epoch');
      return 'fenced' as const;
    }
    const settled = await lines.settle(ticketTypeId, epoch, { ...outcome, dropped });
    if (settled.kind === 'fenced') {
      log.warn({ ticketTypeId, epoch }, 'batch not settled: a newer processor owns this line and replays it');
      return 'taken-over' as const;
    }
    if (settled.revoked.length) await this.revoke(ticketTypeId, settled.revoked);
    for (const { token, status } of outcome.ended) await lines.endHolds(ticketTypeId, status, [token]);

    const report: BatchReport = {
      ticketTypeId,
      granted: outcome.granted.length,
      soldOut: outcome.soldOut.length,
      waiting: outcome.waiting.length,
      recovery,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    log.info(report, 'batch admitted');
    this.hooks.onBatch?.(report);
    return outcome;
  }

  /**
   * Buyers who cancelled while their admission was in flight: their holds go back at once. The
   * settle that found them kept them in the line's `revoking` set, so that if this process dies
   * first, the next run of the line (by any processor) finishes the job.
   */
  private async revoke(ticketTypeId: number, tokens: string[]): Promise<void> {
    for (const token of tokens) await cancelHold(this.ctx.db, token);
    await this.ctx.lines.endHolds(ticketTypeId, 'cancelled', tokens);
    await this.ctx.lines.revoked(ticketTypeId, tokens);
  }
}
