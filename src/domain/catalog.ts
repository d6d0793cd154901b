// Events and ticket types as the API shows them and as the organiser creates them: one schema
// each, from which the TypeScript types are derived.
import { Type, type Static } from 'typebox';
import { Id } from './status.ts';

/** Free text: no control characters other than tab and newlines. */
const Text = (maxLength: number, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$' });

export const TicketType = Type.Object({
  id: Id,
  name: Type.String(),
  price: Type.String({ description: 'Decimal string, e.g. "49.00".' }),
  capacity: Type.Integer(),
  quantity_available: Type.Integer(),
  max_per_order: Type.Integer(),
});
export type TicketType = Static<typeof TicketType>;

export const Event = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  venue: Type.String(),
  starts_at: Type.String({ format: 'date-time' }),
  ticket_types: Type.Array(TicketType),
});
export type Event = Static<typeof Event>;

export const NewEvent = Type.Object(
  {
    name: Text(200, 1),
    description: Type.Optional(Text(5_000)),
    venue: Type.Optional(Text(200)),
    starts_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type NewEvent = Static<typeof NewEvent>;

export const NewTicketType = Type.Object(
  {
    name: Text(200, 1),
    price: Type.String({ pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$', description: 'Decimal string, e.g. "49.00".' }),
    capacity: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 4 })),
  },
  { additionalProperties: false },
);
export type NewTicketType = Static<typeof NewTicketType>;

/** What a join checks against: who the ticket type belongs to and its per-buyer cap. */
export interface TicketTypeRule {
  id: number;
  event_id: number;
  max_per_order: number;
}
