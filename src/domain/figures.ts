// The organiser's figures per ticket type: stock and holds from PostgreSQL, the line from Redis.
// One schema each; GET /admin/stats answers their composite, /metrics exports the same rows.
import { Type, type Static } from 'typebox';
import { Id } from './status.ts';

export const SaleFigures = Type.Object({
  id: Id,
  event_id: Id,
  name: Type.String(),
  capacity: Type.Integer(),
  quantity_available: Type.Integer(),
  held: Type.Integer({ description: 'Tickets in live holds.' }),
  confirmed: Type.Integer({ description: 'Tickets booked.' }),
  admitted: Type.Integer({ description: 'Holds granted so far (buyers admitted), whatever became of them.' }),
  holds_active: Type.Integer({ description: 'Live holds.' }),
  holds_confirmed: Type.Integer(),
  holds_expired: Type.Integer(),
  holds_cancelled: Type.Integer(),
  expiring_soon: Type.Integer({ description: 'Live holds that run out within expiring_within_seconds.' }),
  next_expiry: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'End of the soonest live hold.' }),
});
export type SaleFigures = Static<typeof SaleFigures>;

export const LineProgress = Type.Object({
  waiting: Type.Integer({ description: 'Buyers in line (cancelled ones are dropped when the line reaches them).' }),
  served: Type.Integer({ description: 'Buyers who have left the line so far.' }),
  paused: Type.Boolean({ description: 'Admission stopped by the organiser (POST /admin/ticket-types/:id/pause).' }),
});
export type LineProgress = Static<typeof LineProgress>;

export const TicketTypeStats = Type.Evaluate(Type.Intersect([SaleFigures, LineProgress]));
export type TicketTypeStats = Static<typeof TicketTypeStats>;

/** Holds that run out within this many seconds count as about to expire. */
export const EXPIRING_WITHIN_SECONDS = 30;
