// Admits queued buyers in join order, in batches, one ticket type per lease holder (DESIGN.md).
// Event-driven: a join wakes it when it is idle, a returned hold wakes it when it waits for
// stock; a slow poll of the active set only covers lost pub/sub messages and crashed peers.
import type { Context } from '../context.ts';
import { listTicketTypeIds } from '../db/catalog.ts';
import { admitBatch, cancelHold, processorEpoch } from '../db/holds.ts';
import type { Candidate } from '../domain/record.ts';
import type { DrawPlacer } from './draw.ts';

// How long a line stays stuck when its processor dies: a live one renews the lease on every batch
// (a batch takes milliseconds), and one that stalls past it is fenced out, costing only a replay.
const LEASE_MS = 3_000;
const POLL_MS = 2_000;
const FULL_SCAN_EVERY = 10;

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

export class Processor {
  private readonly running = new Map<number, Promise<void>>();
  private readonly again = new Set<number>();
  private stopped = false;
  private pollTimer?: NodeJS.Timeout;
  private readonly leaseRetries = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly ctx: Context,
    private readonly onBatch: (report: BatchReport) => void = () => undefined,
    private readonly onRun: (report: RunReport) => void = () => undefined,
    /** Places a sealed pre-queue in the line before anybody is admitted (scheduled on-sale). */
    private readonly placer?: DrawPlacer,
  ) {}

  /** Looks at every ticket type once (this also settles what a crashed processor left), then polls. */
  async start(): Promise<void> {
    for (const id of await listTicketTypeIds(this.ctx.db)) this.wake(id);
    this.schedulePoll();
  }

  /** Stops taking work and waits for the batches in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    for (const timer of this.leaseRetries.values()) clearTimeout(timer);
    await Promise.all(this.running.values());
  }

  /** Runs the ticket type's line now, or once more right after the run in progress. */
  wake(ticketTypeId: number): void {
    if (this.stopped) return;
    if (this.running.has(ticketTypeId)) {
      this.again.add(ticketTypeId);
      return;
    }
    const run = this.drain(ticketTypeId)
      .then((stopped) => this.onRun({ ticketTypeId, stopped }))
      .catch((err: Error) => this.ctx.log.error({ err, ticketTypeId }, 'processor run failed; retrying on next poll'))
      .finally(() => {
        this.running.delete(ticketTypeId);
        if (this.again.delete(ticketTypeId)) this.wake(ticketTypeId);
      });
    this.running.set(ticketTypeId, run);
  }

  private retryAfter(ticketTypeId: number, ms: number): void {
    if (ms <= 0 || this.stopped || this.leaseRetries.has(ticketTypeId)) return; // no lease, or no expiry: paused
    this.leaseRetries.set(ticketTypeId, setTimeout(() => {
      this.leaseRetries.delete(ticketTypeId);
      this.wake(ticketTypeId);
    }, ms + 10));
  }

  private schedulePoll(round = 1): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      try {
        // Every tenth round looks at every ticket type, as start() does: a line that dropped off
        // the active set in a crash between a worker's SREM and its re-check is found again.
        const ids = round % FULL_SCAN_EVERY === 0
          ? await listTicketTypeIds(this.ctx.db)
          : await this.ctx.lines.activeLines();
        for (const id of ids) this.wake(id);
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message }, 'processor poll failed');
      }
      this.schedulePoll(round + 1);
    }, POLL_MS * (0.75 + Math.random() / 2));
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
      while (!this.stopped) {
        const taken = await lines.take(ticketTypeId, instanceId, config.PROCESSOR_BATCH_SIZE, LEASE_MS);
        if (taken.kind === 'lost') return 'lease_lost'; // whoever holds the lease now recovers our batch
        if (taken.kind === 'draw') {
          if (!this.placer) throw new Error(`ticket type ${ticketTypeId}: a sealed pre-queue and no draw placer`);
          if ((await this.placer.place(ticketTypeId, instanceId)) === 'lost') return 'lease_lost';
          continue;
        }
        if (taken.kind === 'empty') {
          if (await lines.markIdle(ticketTypeId)) return 'empty';
          continue;
        }
        if (!taken.candidates.length) continue; // the whole batch had cancelled
        const outcome = await this.admit(ticketTypeId, epoch, taken.candidates, taken.recovery);
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
        if (outcome.waiting.length && !outcome.replay) return 'waiting';
      }
      return 'stopping';
    } finally {
      await lines.unlease(ticketTypeId, instanceId).catch(() => undefined);
    }
  }

  private async admit(ticketTypeId: number, epoch: number, candidates: Candidate[], recovery: boolean) {
    const { db, lines, config, log } = this.ctx;
    const started = performance.now();
    const outcome = await db.withTransaction((client) =>
      admitBatch(client, ticketTypeId, epoch, candidates, config.RESERVATION_TTL_SECONDS, recovery),
    );
    if (!outcome) {
      log.warn({ ticketTypeId, epoch }, 'batch fenced out: PostgreSQL has seen a newer processor epoch');
      return 'fenced' as const;
    }
    // The holds' records carry their end; the sweepers learn it from the same script.
    const settled = await lines.settle(ticketTypeId, epoch, outcome);
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
    this.onBatch(report);
    return outcome;
  }

  /** Buyers who cancelled while their admission was in flight: their holds go back at once. */
  private async revoke(ticketTypeId: number, tokens: string[]): Promise<void> {
    for (const token of tokens) await cancelHold(this.ctx.db, token);
    await this.ctx.lines.endHolds(ticketTypeId, 'cancelled', tokens);
  }
}
