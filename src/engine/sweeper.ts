// Ends holds when they run out and returns their stock (DESIGN.md, Sweeper). It sleeps until the
// earliest deadline, so stock comes back within milliseconds of expiry. It needs no word of new
// holds: every hold lasts RESERVATION_TTL_SECONDS, so one granted after the sweeper fell asleep
// runs out after every hold it knew of, and no sleep is longer than that TTL (nor than
// CLEANUP_INTERVAL_SECONDS, the safety net).
import type { Context } from '../context.ts';
import { expireDue, nextExpiry, type EndedHold } from '../db/holds.ts';

const BATCH = 1_000;
const LOCK_KEY = 7_262_002; // one sweeper at a time across processes: "boxoffice sweeper"
const BUSY_RETRY_MS = 250;

export interface SweepReport {
  released: number;
  ms: number;
}

export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    private readonly onSweep: (report: SweepReport) => void = () => undefined,
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
    clearTimeout(this.timer);
    const { CLEANUP_INTERVAL_SECONDS, RESERVATION_TTL_SECONDS } = this.ctx.config;
    const delay = Math.max(0, Math.min(delayMs, Math.min(CLEANUP_INTERVAL_SECONDS, RESERVATION_TTL_SECONDS) * 1000));
    this.timer = setTimeout(() => this.run(), delay);
  }

  private run(): void {
    if (this.running) return;
    this.running = this.sweep()
      .catch((err: Error) => {
        this.ctx.log.error({ err }, 'sweep failed');
        return BUSY_RETRY_MS * 4;
      })
      .then((delay) => this.schedule(delay))
      .finally(() => (this.running = undefined));
  }

  /** Expires everything due; returns how long to sleep before the next deadline. */
  private async sweep(): Promise<number> {
    const { db, log } = this.ctx;
    const started = performance.now();
    let released = 0;
    for (;;) {
      const ended = await db.withTransaction(async (client) => {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCK_KEY]);
        return rows[0]!.locked ? expireDue(client, BATCH) : undefined;
      });
      if (!ended) return BUSY_RETRY_MS; // another process is sweeping
      await this.release(ended);
      released += ended.length;
      if (ended.length < BATCH) break;
    }
    const report = { released, ms: Math.round(performance.now() - started) };
    if (released) log.info(report, 'holds expired');
    this.onSweep(report);
    const next = await nextExpiry(db);
    return next ? next.getTime() - Date.now() + 5 : Infinity;
  }

  private async release(ended: EndedHold[]): Promise<void> {
    const byTicketType = new Map<number, string[]>();
    for (const h of ended) {
      const tokens = byTicketType.get(h.ticket_type_id) ?? [];
      tokens.push(h.token);
      byTicketType.set(h.ticket_type_id, tokens);
    }
    for (const [ticketTypeId, tokens] of byTicketType) {
      await this.ctx.lines.endHolds(ticketTypeId, 'expired', tokens).catch((err: Error) =>
        // Stock is back already (committed); the records still say R, and with their end past,
        // status asks PostgreSQL.
        this.ctx.log.warn({ err: err.message, ticketTypeId, count: tokens.length }, 'could not tidy Redis after expiry'),
      );
    }
  }
}
