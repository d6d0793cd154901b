// A sale's lifecycle (issue 13): its state at an instant, from its times alone, and what a join is
// told before the opening or after the close. No I/O: the same rules serve the listing, the join
// check (from the cached rule) and the tests.
import { Type, type Static } from 'typebox';

export const SaleState = Type.Union([
  Type.Literal('scheduled'),
  Type.Literal('prequeue'),
  Type.Literal('on_sale'),
  Type.Literal('sold_out'),
  Type.Literal('closed'),
], { description: 'scheduled (before the pre-queue or the sale opens), prequeue, on_sale, sold_out (nothing available now), closed.' });
export type SaleState = Static<typeof SaleState>;

/** A sale's times in epoch milliseconds (undefined: not set) and whether the organiser closed it. */
export interface SaleTimes {
  prequeueOpensMs?: number;
  saleStartsMs?: number;
  saleEndsMs?: number;
  closed: boolean;
}

/** Where a join goes at `nowMs`: refused before the opening or after the close, else the pre-queue or the line. */
export type JoinWindow =
  | { kind: 'not_open'; opensMs: number }
  | { kind: 'closed' }
  | { kind: 'prequeue'; saleStartsMs: number }
  | { kind: 'line' };

export function joinWindow(t: SaleTimes, nowMs: number): JoinWindow {
  if (t.closed || (t.saleEndsMs !== undefined && nowMs >= t.saleEndsMs)) return { kind: 'closed' };
  const opensMs = t.prequeueOpensMs ?? t.saleStartsMs;
  if (opensMs !== undefined && nowMs < opensMs) return { kind: 'not_open', opensMs };
  // Past the opening the join script decides (on Redis's clock) whether the pre-queue is still open.
  if (t.prequeueOpensMs !== undefined) return { kind: 'prequeue', saleStartsMs: t.saleStartsMs! };
  return { kind: 'line' };
}

export function saleState(t: SaleTimes, quantityAvailable: number, nowMs: number): SaleState {
  const window = joinWindow(t, nowMs);
  if (window.kind === 'closed') return 'closed';
  if (window.kind === 'not_open') return 'scheduled';
  if (window.kind === 'prequeue' && nowMs < window.saleStartsMs) return 'prequeue';
  return quantityAvailable > 0 ? 'on_sale' : 'sold_out';
}

/** Why a schedule cannot be, or undefined: a pre-queue needs an opening, and the times must follow each other. */
export function scheduleProblem(t: Omit<SaleTimes, 'closed'>): string | undefined {
  if (t.prequeueOpensMs !== undefined && t.saleStartsMs === undefined) return 'A pre-queue needs sale_starts_at: the moment it is drawn.';
  if (t.prequeueOpensMs !== undefined && t.prequeueOpensMs >= t.saleStartsMs!) return 'prequeue_opens_at must come before sale_starts_at.';
  const from = t.saleStartsMs ?? t.prequeueOpensMs;
  if (from !== undefined && t.saleEndsMs !== undefined && t.saleEndsMs <= from) return 'sale_ends_at must come after sale_starts_at.';
  return undefined;
}
