// Removes the Redis keys of lines whose sale is over (its event started, or nothing is left and no
// hold can come back) once LINE_RETENTION_SECONDS have passed, so that Redis holds only live sales.
// PostgreSQL answers for every token afterwards: holds are rows, and buyers told sold_out or who
// cancelled in line were recorded when that was decided; the last pass over the records before
// the keys go records any that a crash let slip.
import type { Context } from '../context.ts';
import { recordExits } from '../db/holds.ts';
import { markSalesOver, salesOverFor } from '../db/retention.ts';

const MAX_CHECK_MS = 60_000;

export interface PurgeReport {
  ticketTypeId: number;
  /** Departures found only in Redis and recorded by this pass (0 unless a crash let one slip). */
  recovered: number;
}

export class Retention {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    private readonly onPurge: (report: PurgeReport) => void = () => undefined,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = Math.min(MAX_CHECK_MS, (this.ctx.config.LINE_RETENTION_SECONDS * 1000) / 2);
    this.timer = setTimeout(() => {
      this.running = this.check()
        .catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'line retention check failed; trying again later'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, every);
  }

  /** One pass: stamp the sales that ended, purge the lines past retention that still have keys. */
  private async check(): Promise<void> {
    const { db, lines, config } = this.ctx;
    await markSalesOver(db);
    for (const ticketTypeId of await salesOverFor(db, config.LINE_RETENTION_SECONDS)) {
      if (this.stopped) return;
      if (await lines.exists(ticketTypeId)) await this.purge(ticketTypeId);
    }
  }

  /** Several workers may purge the same line at once: every step is idempotent. */
  private async purge(ticketTypeId: number): Promise<void> {
    const { db, lines, log } = this.ctx;
    let recovered = 0;
    for await (const { outcome, buyers } of lines.departures(ticketTypeId)) {
      recovered += await recordExits(db, ticketTypeId, outcome, buyers);
    }
    if (!(await lines.purge(ticketTypeId))) return; // a buyer joined since: next pass
    if (recovered) log.warn({ ticketTypeId, recovered }, 'line exits found only in Redis were recorded before the purge');
    log.info({ ticketTypeId }, 'line purged: its sale is over and its retention has passed');
    this.onPurge({ ticketTypeId, recovered });
  }
}
