// Opens and closes scheduled sales on time (issue 13): at sale_starts_at it seals the pre-queue
// (the processor then places it in draw order) and records the opening; at sale_ends_at it records
// the close. It sleeps until the next transition, and looks again at least every CHECK_MS for
// schedules that an organiser changed. Every worker runs one: each step is idempotent.
import type { Context } from '../context.ts';
import { closeSale, dueTransitions, openSale } from '../db/onsale.ts';

const CHECK_MS = 1_000;

export interface TransitionReport {
  ticketTypeId: number;
  transition: 'opened' | 'closed';
}

export class SaleClock {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    /** A sale whose pre-queue was sealed must be run by the processor, which places it. */
    private readonly wake: (ticketTypeId: number) => void,
    private readonly onTransition: (report: TransitionReport) => void = () => undefined,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: Error) => {
          this.ctx.log.warn({ err: err.message }, 'sale clock failed; trying again');
          return CHECK_MS;
        })
        .then((next) => {
          this.running = undefined;
          this.schedule(next);
        });
    }, Math.max(0, delayMs));
  }

  /** Makes every due transition; returns how long to sleep. */
  private async tick(): Promise<number> {
    const { db, lines, log } = this.ctx;
    const due = await dueTransitions(db);
    for (const ticketTypeId of due.opening) {
      const { entries, waiting } = await lines.seal(ticketTypeId);
      if (await db.withTransaction((client) => openSale(client, ticketTypeId))) {
        log.info({ ticketTypeId, prequeue: entries }, 'sale opened');
        this.onTransition({ ticketTypeId, transition: 'opened' });
      }
      if (waiting) this.wake(ticketTypeId);
    }
    for (const ticketTypeId of due.closing) {
      if (await db.withTransaction((client) => closeSale(client, ticketTypeId, 'ended'))) {
        log.info({ ticketTypeId }, 'sale closed');
        this.onTransition({ ticketTypeId, transition: 'closed' });
      }
    }
    return Math.min(CHECK_MS, due.nextAt ? due.nextAt.getTime() - Date.now() : CHECK_MS);
  }
}
