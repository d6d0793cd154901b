// The figures of every sale, from PostgreSQL (stock, holds) and Redis (lines, pause): what
// GET /admin/stats answers, the dashboard shows and /metrics exports.
import type { Context } from '../context.ts';
import { saleFigures, type SaleFigures } from '../db/sale-figures.ts';
import { readLineStates, type LineState } from '../redis/line-control.ts';

/** Holds that run out within this many seconds count as about to expire. */
export const EXPIRING_WITHIN_SECONDS = 30;

export type TicketTypeFigures = SaleFigures & LineState;

export async function readSaleStats(ctx: Pick<Context, 'db' | 'redis' | 'keys'>): Promise<TicketTypeFigures[]> {
  const stock = await saleFigures(ctx.db, EXPIRING_WITHIN_SECONDS);
  const lines = await readLineStates(ctx.redis, ctx.keys, stock.map((t) => t.id));
  return stock.map((t, i) => ({ ...t, ...lines[i]! }));
}
