// What a buyer is told about their token: the status word and the report of GET /reservation/status.
// The TypeBox schemas are the one definition: routes validate and document with them, and the
// TypeScript types below are derived from them.
import { Type, type Static } from 'typebox';

export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const Status = Type.Union([
  Type.Literal('pending'),
  Type.Literal('reserved'),
  Type.Literal('confirmed'),
  Type.Literal('expired'),
  Type.Literal('cancelled'),
  Type.Literal('sold_out'),
  Type.Literal('prequeue'),
]);
export type Status = Static<typeof Status>;

/** What a hold row can say: the statuses of a token that left the line with a hold. */
export type HoldStatus = Extract<Status, 'reserved' | 'confirmed' | 'expired' | 'cancelled'>;
export type EndedHoldStatus = Exclude<HoldStatus, 'reserved'>;

/** Statuses after which nothing about the token changes any more. */
export const FINAL_STATUSES: ReadonlySet<Status> = new Set<Status>(['confirmed', 'expired', 'cancelled', 'sold_out']);

export const StatusReport = Type.Object({
  status: Status,
  ticket_type_id: Id,
  quantity: Type.Integer(),
  position: Type.Optional(Type.Integer({ description: '1 = next in line; only while pending.' })),
  ahead: Type.Optional(Type.Integer({ description: 'Buyers ahead in line (position - 1); only while pending.' })),
  remaining: Type.Optional(Type.Integer({
    description: 'Tickets that may still come to the line: available now plus held by others (a hold may come back). '
      + 'When the buyers ahead want all of them, this buyer is unlikely to get any. Only while pending.',
  })),
  estimated_wait_seconds: Type.Optional(Type.Integer({
    description: 'Estimated seconds until admission at the rate the line moved over the last minute; absent while unknown or stalled.',
  })),
  expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'End of the hold; only while reserved.' })),
  booking_id: Type.Optional(Id),
  entry_id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$', description: 'The public id of this join, in the draw and the admissions list; while prequeue.' })),
  sale_starts_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the pre-queue is drawn into the line; while prequeue.' })),
  draw_commitment: Type.Optional(Type.String({ description: 'The draw\'s committed secret (docs/fairness.md); while prequeue.' })),
});
export type StatusReport = Static<typeof StatusReport>;
