// Places a sealed pre-queue in the line in draw order (issue 13, docs/fairness.md). Run by the
// processor that holds the line's lease when `take` says the pre-queue waits: nobody is admitted
// before every entry is in line. The draw is a function of the committed secret and the sealed
// entries, so whoever holds the lease after a crash computes the same order and resumes from the
// count Redis has placed; each chunk is fenced by the lease and that count (place-n.lua).
import type { Context } from '../context.ts';
import { drawRecorded, drawSecret, markDrawPlaced, recordDraw } from '../db/onsale.ts';
import { draw, entryId } from '../domain/draw.ts';

// Measured (npm run bench -- draw, BENCHMARKS.md): chunks of 1,000 entries ran 11-12 ms in Redis on
// the loaded 2-core machine; chunks of 250 run about 1 ms (p99 7 ms), inside the 10 ms a draw may
// block Redis. Reading the pre-queue's records costs about 3 µs an entry (one script over the
// entries' buckets): 5,000 at a time took 13-15 ms, 1,000 take about 3.
const PLACE_CHUNK = 250;
const READ_CHUNK = 1_000;
// Computing the draw of a million entries took 19 s of a loaded machine: the lease is renewed
// between slices of the work (entry ids here, keys in draw(), each sort), the longest a sort of a
// million strings (1-2.5 s there). A longer lease than the processor's keeps one slow slice from
// handing the line to another worker, which would start the same computation over; a worker that
// dies mid-draw holds the line up for at most this long.
const DRAW_LEASE_MS = 10_000;
const RENEW_EVERY = 50_000;

class LeaseLost extends Error {}

export interface DrawReport {
  ticketTypeId: number;
  entries: number;
  /** Entries already placed when this run began (a crashed holder's work, resumed). */
  resumedFrom: number;
  ms: number;
}

export type PlaceResult = 'placed' | 'lost';

export class DrawPlacer {
  constructor(
    private readonly ctx: Context,
    /** The secret entry ids are derived with (the signer's deriveSecret(ENTRY_ID_PURPOSE)). */
    private readonly entrySecret: Buffer,
    private readonly onDraw: (report: DrawReport) => void = () => undefined,
  ) {}

  /** Places the sealed pre-queue of the line whose lease `owner` holds; 'lost' when the lease went meanwhile. */
  async place(ticketTypeId: number, owner: string): Promise<PlaceResult> {
    try {
      return await this.drawAndPlace(ticketTypeId, owner);
    } catch (err) {
      if (err instanceof LeaseLost) return 'lost';
      throw err;
    }
  }

  private async drawAndPlace(ticketTypeId: number, owner: string): Promise<PlaceResult> {
    const { lines, db, log } = this.ctx;
    const started = performance.now();
    const renew = async () => {
      if ((await lines.lease(ticketTypeId, owner, DRAW_LEASE_MS)) === undefined) throw new LeaseLost();
    };
    await renew();
    const progress = await lines.drawProgress(ticketTypeId);
    if (progress.state !== 'sealed') return 'placed';
    const secret = await drawSecret(db, ticketTypeId);
    if (!secret) throw new Error(`ticket type ${ticketTypeId}: a sealed pre-queue without a draw secret`);

    const tokens = await lines.prequeueTokens(ticketTypeId, progress.entries, READ_CHUNK);
    const tokenOf = new Map<string, string>();
    for (let i = 0; i < tokens.length; i++) {
      tokenOf.set(entryId(this.entrySecret, tokens[i]!), tokens[i]!);
      if (i % RENEW_EVERY === RENEW_EVERY - 1) await renew();
    }
    const { entriesDigest, seed, order } = await draw(secret, [...tokenOf.keys()], renew);
    if (!(await drawRecorded(db, ticketTypeId))) {
      const orderBytes = Buffer.alloc(order.length * 16);
      order.forEach((id, rank) => orderBytes.write(id, rank * 16, 'hex'));
      await recordDraw(db, ticketTypeId, { entries: order.length, entriesDigest, seed, order: orderBytes });
    }

    let placed = progress.placed;
    while (placed < order.length) {
      const end = order.length - placed;
      const start = Math.max(0, end - PLACE_CHUNK);
      const chunk = order.slice(start, end).map((id) => tokenOf.get(id)!);
      const outcome = await lines.place(ticketTypeId, owner, DRAW_LEASE_MS, placed, start + 1, chunk);
      if (outcome.kind === 'lost') return 'lost';
      if (outcome.kind !== 'placed' && outcome.kind !== 'moved') break; // another holder finished it
      placed = outcome.placed;
    }
    await markDrawPlaced(db, ticketTypeId);
    const report = { ticketTypeId, entries: order.length, resumedFrom: progress.placed, ms: Math.round(performance.now() - started) };
    log.info(report, 'pre-queue drawn into the line');
    this.onDraw(report);
    return 'placed';
  }
}
