// What every route plugin receives from app.ts.
import type { Context } from '../context.ts';
import type { TicketTypeCache } from './ticket-type-cache.ts';

export interface RouteDeps {
  ctx: Context;
  ticketTypes: TicketTypeCache;
}
