// Places a sealed pre-queue in the line in draw order (issue 13, docs/fairness.md). Run by the
// processor that holds the line's lease when `take` says the pre-queue waits: nobody is admitted
// before every entry is in line. The draw is a function of the committed secret and the sealed
// entries, so whoever holds the lease after a crash computes the same order and resumes from the
// count Redis has placed; each chunk is fenced by the lease and that count (place-5.lua).
import type { Context } from '../context.ts';
import { drawRecorded, drawSecret, markDrawPlaced, recordDraw } from '../db/onsale.ts';
import { draw, entryId } from '../domain/draw.ts';

// Measured (npm run bench -- draw): a chunk of 1,000 entries runs in about 2 ms in Redis, well
// inside the 10 ms a draw may block it; reads of the pre-queue are as short.
const PLACE_CHUNK = 1_000;
const READ_CHUNK = 10_000;
// Computing the entry ids of a big pre-queue takes seconds: the lease is renewed between slices
// of this many, so that it never runs out under a live holder.
const RENEW_EVERY = 50_000;

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

  async place(ticketTypeId: number, owner: string, leaseMs: number): Promise<PlaceResult> {
    const { lines, db, log } = this.ctx;
    const started = performance.now();
    const progress = await lines.drawProgress(ticketTypeId);
    if (progress.state !== 'sealed') return 'placed';
    const renew = async () => (await lines.lease(ticketTypeId, owner, leaseMs)) !== undefined;
    const secret = await drawSecret(db, ticketTypeId);
    if (!secret) throw new Error(`ticket type ${ticketTypeId}: a sealed pre-queue without a draw secret`);

    const tokens = await lines.prequeueTokens(ticketTypeId, progress.entries, READ_CHUNK);
    const ids: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      ids.push(entryId(this.entrySecret, tokens[i]!));
      if (i % RENEW_EVERY === RENEW_EVERY - 1 && !(await renew())) return 'lost';
    }
    const { entriesDigest, seed, order } = draw(secret, ids);
    if (!(await renew())) return 'lost';
    if (!(await drawRecorded(db, ticketTypeId))) {
      const orderBytes = Buffer.alloc(order.length * 16);
      order.forEach((entry, rank) => orderBytes.write(ids[entry]!, rank * 16, 'hex'));
      await recordDraw(db, ticketTypeId, { entries: ids.length, entriesDigest, seed, order: orderBytes });
    }

    let placed = progress.placed;
    while (placed < order.length) {
      const end = order.length - placed;
      const start = Math.max(0, end - PLACE_CHUNK);
      const chunk = Array.from(order.subarray(start, end), (entry) => tokens[entry]!);
      const outcome = await lines.place(ticketTypeId, owner, leaseMs, placed, start + 1, chunk);
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
