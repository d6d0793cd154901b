// Events and ticket types as the API shows them and as the organiser creates them: one schema
// each, from which the TypeScript types are derived.
import { Type, type Static } from 'typebox';
import { Id } from './status.ts';
import { HttpUrl } from './webhooks.ts';

/** Who confirms a hold: the buyer on the ticket page, or the organiser's server after payment (issue 14). */
export const ConfirmBy = Type.Union([Type.Literal('buyer'), Type.Literal('organiser')], {
  description: 'buyer: the buyer confirms on the ticket page. organiser: the page hands the buyer on to checkout_url with a signed pass, '
    + 'and only the organiser\'s server confirms (POST /reservation/confirm with an API key) once they have paid.',
});

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
  currency: Type.String({ description: 'ISO 4217 code of the price (the event\'s currency).' }),
  confirm_by: ConfirmBy,
  checkout_url: Type.Union([Type.String(), Type.Null()], { description: 'Where the buyer pays, when the organiser confirms.' }),
});
export type TicketType = Static<typeof TicketType>;

export const Event = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  venue: Type.String(),
  starts_at: Type.String({ format: 'date-time' }),
  currency: Type.String({ description: 'ISO 4217 code of every price of the event.' }),
  ticket_types: Type.Array(TicketType),
});
export type Event = Static<typeof Event>;

export const NewEvent = Type.Object(
  {
    name: Text(200, 1),
    description: Type.Optional(Text(5_000)),
    venue: Type.Optional(Text(200)),
    starts_at: Type.String({ format: 'date-time' }),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code of its prices; DEFAULT_CURRENCY when left out.' })),
  },
  { additionalProperties: false },
);
export type NewEvent = Static<typeof NewEvent>;

export const NewTicketType = Type.Object(
  {
    name: Text(200, 1),
    price: Type.String({
      pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,4})?$',
      description: 'Decimal string in the event\'s currency, with at most its minor units: "49.00" EUR, "5000" JPY.',
    }),
    capacity: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 4 })),
    confirm_by: Type.Optional(ConfirmBy),
    checkout_url: Type.Optional(HttpUrl),
  },
  { additionalProperties: false },
);
export type NewTicketType = Static<typeof NewTicketType>;

/** What a join checks against: who the ticket type belongs to and its per-buyer cap. */
export interface TicketTypeRule {
  id: number;
  event_id: number;
  max_per_order: number;
  confirm_by: 'buyer' | 'organiser';
}
