// The status of one token, as GET /reservation/status reports it. Pending tokens are answered from
// Redis alone (position = seq - served, O(1)); holds from their Redis copy while it lives, else
// from PostgreSQL, which is the truth.
import type { Context } from '../context.ts';
import { findHold, type HoldView } from '../db/holds.ts';
import type { TokenStatus } from '../domain/states.ts';
import { tokenTicketType } from '../domain/token.ts';
import { readHoldCache, readLineStatus } from '../redis/lines.ts';

export interface StatusView {
  status: TokenStatus;
  ticket_type_id: number;
  quantity: number;
  position?: number;
  expires_at?: string;
  booking_id?: number;
}

const LINE_STATES = { P: 'pending', S: 'sold_out', C: 'cancelled' } as const;

/** The status of a token, or undefined when no such token exists. */
export async function tokenStatus(ctx: Context, token: string): Promise<StatusView | undefined> {
  const ticketTypeId = tokenTicketType(token);
  const line = await readLineStatus(ctx.redis, ctx.keys, ticketTypeId, token);
  if (line && line.record.state !== 'R') {
    const view: StatusView = { status: LINE_STATES[line.record.state], ticket_type_id: ticketTypeId, quantity: line.record.quantity };
    if (line.record.state === 'P') view.position = Math.max(1, line.record.seq - line.served);
    return view;
  }
  if (line) {
    const cached = await readHoldCache(ctx.redis, ctx.keys, token);
    if (cached && (cached.status !== 'reserved' || Date.parse(cached.expires_at) > Date.now())) {
      return {
        status: cached.status,
        ticket_type_id: ticketTypeId,
        quantity: line.record.quantity,
        ...(cached.status === 'reserved' && { expires_at: cached.expires_at }),
        ...(cached.booking_id && { booking_id: Number(cached.booking_id) }),
      };
    }
  }
  const hold = await findHold(ctx.db, token);
  return hold && holdStatus(hold);
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
