// Per ticket type figures that a waiting buyer is shown besides their position: what may still
// come to the line (`remaining`, from PostgreSQL, cached briefly) and how fast the line moves (the
// served counter as this process has seen it, from status reads and live broadcasts). One
// instance per process, so a status read costs at most one PostgreSQL query per ticket type per
// second, however many buyers ask. The process's Sale owns the one instance.
import { remainingStock } from '../db/catalog.ts';
import type { Db } from '../db/pool.ts';

const REMAINING_TTL_MS = 1_000;
/** The line's speed is averaged over this long: long enough to smooth batches, short enough to follow a stall. */
const RATE_WINDOW_MS = 60_000;
/** Below this much observation the speed is not trusted. */
const RATE_MIN_SPAN_MS = 3_000;

interface Sample {
  at: number;
  served: number;
}

interface Remaining {
  value?: number;
  at: number;
  /** The last read succeeded: callers wait for the next one rather than take an old figure. */
  ok: boolean;
  loading?: Promise<void>;
  /** Bumped by invalidate(): a read that started before a change does not count as fresh. */
  generation: number;
}

export class LineFigures {
  private readonly samples = new Map<number, Sample[]>();
  private readonly remainingCache = new Map<number, Remaining>();

  constructor(private readonly db: Db) {}

  /** Records the served counter of a line as seen now; only progress is kept, one sample a second at most. */
  observeServed(ticketTypeId: number, served: number, now = Date.now()): void {
    let samples = this.samples.get(ticketTypeId);
    if (!samples) this.samples.set(ticketTypeId, (samples = []));
    const last = samples.at(-1);
    if (last && served <= last.served) return;
    if (last && now - last.at < 1_000 && samples.length > 1) last.served = served;
    else samples.push({ at: now, served });
    this.prune(samples, now);
  }

  /** Buyers leaving the line per second over the last minute; undefined when unknown or stalled. */
  admissionRate(ticketTypeId: number, now = Date.now()): number | undefined {
    const samples = this.samples.get(ticketTypeId);
    if (!samples?.length) return undefined;
    this.prune(samples, now);
    const base = samples[0]!;
    const span = now - Math.max(base.at, now - RATE_WINDOW_MS);
    const moved = samples.at(-1)!.served - base.served;
    return span >= RATE_MIN_SPAN_MS && moved > 0 ? (moved * 1_000) / span : undefined;
  }

  /** Seconds until a buyer at `position` is reached at the measured rate. */
  estimatedWait(ticketTypeId: number, position: number, now = Date.now()): number | undefined {
    const rate = this.admissionRate(ticketTypeId, now);
    return rate === undefined ? undefined : Math.ceil(position / rate);
  }

  /** Stock available plus held, at most a second old while PostgreSQL answers. */
  async remaining(ticketTypeId: number): Promise<number | undefined> {
    let entry = this.remainingCache.get(ticketTypeId);
    if (!entry) this.remainingCache.set(ticketTypeId, (entry = { at: 0, ok: true, generation: 0 }));
    if (Date.now() - entry.at >= REMAINING_TTL_MS) entry.loading ??= this.load(ticketTypeId, entry);
    // During an outage the last figure (or none) beats a status read that hangs on PostgreSQL.
    if (entry.loading && entry.ok) await entry.loading;
    return entry.value;
  }

  private async load(ticketTypeId: number, entry: Remaining): Promise<void> {
    const generation = entry.generation;
    try {
      entry.value = await remainingStock(this.db, ticketTypeId);
      entry.ok = true;
    } catch {
      entry.ok = false;
    } finally {
      entry.at = generation === entry.generation ? Date.now() : 0;
      entry.loading = undefined;
    }
  }

  /** Stock moved (a broadcast said so): the next read goes to PostgreSQL. */
  invalidate(ticketTypeId: number): void {
    const entry = this.remainingCache.get(ticketTypeId);
    if (!entry) return;
    entry.at = 0;
    entry.generation++;
  }

  /** Keeps the newest sample at or before the window's start as the baseline, and those after it. */
  private prune(samples: Sample[], now: number): void {
    while (samples.length > 1 && samples[1]!.at <= now - RATE_WINDOW_MS) samples.shift();
  }
}
