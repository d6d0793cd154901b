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
import { admitBatch, cancelHold, processorEpoch, stockOf, type AdmitOutcome, type LineStock } from '../db/holds.ts';
import type { TakeOutcome } from '../redis/line-store.ts';
import type { DrawPlacer } from './draw.ts';

// How long a line stays stuck when its processor dies: a live one renews the lease on every batch
// (a batch takes milliseconds), and one that stalls past it is fenced out, costing only a replay.
const LEASE_MS = 3_000;
const POLL_MS = 2_000;
const FULL_SCAN_MS = 300_000;
/** A run that failed (Redis or PostgreSQL down) is tried again after this long. */
const RETRY_MS = 1_000;
/**
 * Lines run at once: each holds a PostgreSQL connection while its batch commits (the pool has 10).
 * Woken lines beyond it wait their turn, and a run hands its place on after YIELD_BATCHES batches
 * when others wait, so that a line fed without pause cannot keep the rest waiting.
 */
const MAX_RUNS = 8;
const YIELD_BATCHES = 20;

type Batch = Extract<TakeOutcome, { kind: 'batch' }>;
type Settled = 'settled' | 'taken-over';

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
 * dry, its head waits for stock, the lease was lost mid-run, it gave its place to lines waiting for
 * one (and waits its turn again), or the processor is stopping.
 */
export type RunEnd = 'paused' | 'leased' | 'empty' | 'waiting' | 'lease_lost' | 'yielded' | 'stopping';

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
  /** Woken lines waiting for one of the MAX_RUNS places, in the order they were woken. */
  private readonly waitingTurn = new Set<number>();
  /** The look for new ticket types in flight, and whether another was asked for meanwhile. */
  private lookingForNew?: Promise<void>;
  private lookAgain = false;
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
    this.waitingTurn.clear();
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
    if (this.running.size >= MAX_RUNS) {
      this.waitingTurn.add(ticketTypeId);
      return;
    }
    this.waitingTurn.delete(ticketTypeId);
    const run = this.drain(ticketTypeId)
      .then((stopped) => {
        if (stopped === 'yielded') this.waitingTurn.add(ticketTypeId);
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
        for (const next of this.waitingTurn) {
          if (this.running.size >= MAX_RUNS) break;
          this.wake(next);
        }
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

  /**
   * A ticket type was created (PostgreSQL says so): listen to its wakes now, not at the next poll.
   * Many created at once cost one look, and one more for those created during it.
   */
  ticketTypeCreated(): void {
    this.lookForNew().catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'processor poll failed'));
  }

  private lookForNew(): Promise<void> {
    if (this.lookingForNew) {
      this.lookAgain = true;
      return this.lookingForNew;
    }
    this.lookingForNew = (async () => {
      try {
        do {
          this.lookAgain = false;
          // New ticket types: listen to their wakes, and look at their lines (a join may have come
          // before the listening).
          const added = (await ticketTypesSince(this.ctx.db, this.newestKnown)).map((t) => t.id);
          await this.listenTo(added);
          for (const id of await this.ctx.lines.awakeLines(added)) this.wake(id);
        } while (this.lookAgain && !this.stopped);
      } finally {
        this.lookingForNew = undefined;
      }
    })();
    return this.lookingForNew;
  }

  /** New ticket types, then parked lines whose stock changed without a wake reaching us: look again. */
  private async poll(): Promise<void> {
    if (Date.now() - this.lastFullScan > FULL_SCAN_MS) return this.fullScan();
    await this.lookForNew();
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
      // Batch N+1 is taken while batch N's transaction runs, and its transaction runs while batch N
      // settles: PostgreSQL, the slower of the two, is never left waiting for Redis.
      let ahead: Batch | undefined;
      let settling: Promise<Settled> | undefined;
      for (let batches = 0; !this.stopped || ahead; batches++) {
        // A take that is not ahead may recover `processing`: the batch before must have left it.
        if (!ahead && settling && (await settling) === 'taken-over') return 'lease_lost';
        if (!ahead && batches >= YIELD_BATCHES && this.waitingTurn.size) return 'yielded';
        const taken = ahead ?? (await lines.take(ticketTypeId, instanceId, config.PROCESSOR_BATCH_SIZE, LEASE_MS));
        ahead = undefined;
        if (taken.kind === 'lost') return 'lease_lost'; // whoever holds the lease now recovers our batch
        if (taken.kind === 'draw') {
          if (!this.placer) throw new Error(`ticket type ${ticketTypeId}: a sealed pre-queue and no draw placer`);
          if ((await this.placer.place(ticketTypeId, instanceId)) === 'lost') return 'lease_lost';
          continue;
        }
        if (taken.kind === 'empty') return 'empty'; // the take cleared the line's flag: the next join wakes us
        const started = performance.now();
        const [outcome, behind] = await Promise.all([
          this.commit(ticketTypeId, epoch, taken),
          this.takeBehind(ticketTypeId, taken, settling),
        ]);
        settling = undefined;
        if (behind === 'taken-over') return 'lease_lost';
        if (outcome === 'fenced') {
          // PostgreSQL saw a newer epoch. While we still hold the lease nobody newer exists: Redis
          // lost its counter (restarted without AOF), so move it past PostgreSQL's and retry (the
          // next take recovers this batch and the one taken behind it).
          epoch = await lines.reepoch(ticketTypeId, instanceId, (await processorEpoch(this.ctx.db, ticketTypeId)) + 1);
          if (!epoch) return 'lease_lost';
          continue;
        }
        if (outcome.stock) {
          // The head waits for stock (a returned hold wakes us): the batch taken behind goes back
          // in line behind it. After a replay, `waiting` are buyers the interrupted batch left
          // undecided, for the next batch.
          if ((await this.settle(ticketTypeId, epoch, taken, outcome, started, behind !== undefined)) === 'taken-over') return 'lease_lost';
          this.parked.set(ticketTypeId, outcome.stock);
          return 'waiting';
        }
        ahead = behind;
        settling = this.settle(ticketTypeId, epoch, taken, outcome, started, false);
      }
      if (settling && (await settling) === 'taken-over') return 'lease_lost';
      return 'stopping';
    } finally {
      await lines.unlease(ticketTypeId, instanceId).catch(() => undefined);
    }
  }

  /**
   * The batch behind `batch` (take-5.lua's take ahead), taken once the batch before `batch` has
   * settled, so that `processing` holds `batch` alone; none for a replayed batch or when stopping.
   */
  private async takeBehind(ticketTypeId: number, batch: Batch, settling?: Promise<Settled>): Promise<Batch | undefined | 'taken-over'> {
    if (settling && (await settling) === 'taken-over') return 'taken-over';
    if (batch.recovery || this.stopped) return undefined;
    const { lines, instanceId, config } = this.ctx;
    const taken = await lines.take(ticketTypeId, instanceId, config.PROCESSOR_BATCH_SIZE, LEASE_MS, batch.candidates.length + batch.dropped);
    return taken.kind === 'batch' ? taken : undefined;
  }

  /** Commits a batch's admission in PostgreSQL; 'fenced' when a newer processor epoch exists there. */
  private async commit(ticketTypeId: number, epoch: number, batch: Batch): Promise<AdmitOutcome | 'fenced'> {
    const { db, config, log } = this.ctx;
    // A batch whose buyers all cancelled in line has nothing for PostgreSQL: they leave the line.
    if (!batch.candidates.length) return { granted: [], soldOut: [], waiting: [], expiresAt: new Date(), replay: false, ended: [] };
    const outcome = await db.withTransaction((client) =>
      admitBatch(client, ticketTypeId, epoch, batch.candidates, config.RESERVATION_TTL_SECONDS, batch.recovery),
    );
    if (outcome) return outcome;
    log.warn({ ticketTypeId, epoch }, 'batch fenced out: PostgreSQL has seen a newer processor epoch');
    return 'fenced';
  }

  /** Records a committed batch in Redis, releases what its buyers cancelled meanwhile, and reports it. */
  private async settle(ticketTypeId: number, epoch: number, batch: Batch, outcome: AdmitOutcome, started: number, requeueAhead: boolean): Promise<Settled> {
    const { lines, log } = this.ctx;
    const settled = await lines.settle(ticketTypeId, epoch, { ...outcome, dropped: batch.dropped }, requeueAhead);
    if (settled.kind === 'fenced') {
      log.warn({ ticketTypeId, epoch }, 'batch not settled: a newer processor owns this line and replays it');
      return 'taken-over';
    }
    if (settled.revoked.length) await this.revoke(ticketTypeId, settled.revoked);
    for (const { token, status } of outcome.ended) await lines.endHolds(ticketTypeId, status, [token]);
    if (!batch.candidates.length) return 'settled';
    const report: BatchReport = {
      ticketTypeId,
      granted: outcome.granted.length,
      soldOut: outcome.soldOut.length,
      waiting: outcome.waiting.length,
      recovery: batch.recovery,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    log.info(report, 'batch admitted');
    this.hooks.onBatch?.(report);
    return 'settled';
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
