// The status of one token, as GET /reservation/status reports it. Pending tokens are answered from
// Redis alone (position = seq - served, O(1)); a live hold from its record, which carries the
// hold's end; anything else from PostgreSQL, which is the truth. A pending token also gets the
// line's figures (buyers ahead, stock that may still come, estimated wait), which are per ticket
// type and cached in process.
import type { Context } from '../context.ts';
import { findHold, type HoldView } from '../db/holds.ts';
import type { TokenStatus } from '../domain/states.ts';
import { tokenTicketType } from '../domain/token.ts';
import { readLineStatus } from '../redis/lines.ts';
import { lineFigures, type LineFigures } from './line-figures.ts';

export interface StatusView {
  status: TokenStatus;
  ticket_type_id: number;
  quantity: number;
  position?: number;
  ahead?: number;
  remaining?: number;
  estimated_wait_seconds?: number;
  expires_at?: string;
  booking_id?: number;
}

const LINE_STATES = { S: 'sold_out', C: 'cancelled' } as const;

/** The status of a token, or undefined when no such token exists. */
export async function tokenStatus(ctx: Context, token: string): Promise<StatusView | undefined> {
  return (await readTokenStatus(ctx, token))?.view;
}

export interface TokenState {
  view: StatusView;
  /** While pending: the token's sequence number in its line and the line's served counter. */
  seq?: number;
  served?: number;
}

/** As tokenStatus, with the token's place in line (live streams derive later positions from it). */
export async function readTokenStatus(ctx: Context, token: string): Promise<TokenState | undefined> {
  const ticketTypeId = tokenTicketType(token);
  const line = await readLineStatus(ctx.redis, ctx.keys, ticketTypeId, token);
  if (line?.record.state === 'P') {
    const figures = lineFigures(ctx);
    figures.observeServed(ticketTypeId, line.served);
    const remaining = await figures.remaining(ticketTypeId);
    const view = pendingView(figures, ticketTypeId, line.record.quantity, line.record.seq, line.served, remaining);
    return { view, seq: line.record.seq, served: line.served };
  }
  if (line && (line.record.state === 'S' || line.record.state === 'C')) {
    return { view: { status: LINE_STATES[line.record.state], ticket_type_id: ticketTypeId, quantity: line.record.quantity } };
  }
  if (line?.record.state === 'R' && line.record.holdEndsMs! > Date.now()) {
    const expiresAt = new Date(line.record.holdEndsMs!).toISOString();
    return { view: { status: 'reserved', ticket_type_id: ticketTypeId, quantity: line.record.quantity, expires_at: expiresAt } };
  }
  const hold = await findHold(ctx.db, token);
  return hold && { view: holdStatus(hold) };
}

/** A waiting buyer's view: position = seq - served (O(1)), and the line's figures. */
export function pendingView(
  figures: LineFigures,
  ticketTypeId: number,
  quantity: number,
  seq: number,
  served: number,
  remaining: number | undefined,
): StatusView {
  const position = Math.max(1, seq - served);
  const view: StatusView = { status: 'pending', ticket_type_id: ticketTypeId, quantity, position, ahead: position - 1 };
  if (remaining !== undefined) view.remaining = remaining;
  const wait = figures.estimatedWait(ticketTypeId, position);
  if (wait !== undefined) view.estimated_wait_seconds = wait;
  return view;
}

/** A hold row as the status route shows it; a hold past its expiry is expired even before the sweep. */
export function holdStatus(hold: HoldView): StatusView {
  const overdue = hold.status === 'reserved' && hold.expires_at.getTime() <= Date.now();
  const view: StatusView = {
    status: overdue ? 'expired' : hold.status,
    ticket_type_id: hold.ticket_type_id,
    quantity: hold.quantity,
  };
  if (view.status === 'reserved') view.expires_at = hold.expires_at.toISOString();
  if (hold.booking_id) view.booking_id = hold.booking_id;
  return view;
}
