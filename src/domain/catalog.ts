// Events and ticket types as the API shows them and as the organiser creates them: one schema
// each, from which the TypeScript types are derived.
import { Type, type Static } from 'typebox';
import { SaleState, type SaleTimes } from './onsale.ts';
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

const Instant = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

/** A ticket type's sale as everyone sees it (issue 13): its times, its state now, the draw's commitment. */
const LifecycleFields = {
  prequeue_opens_at: Instant('From then until sale_starts_at, joins enter the pre-queue; null: no pre-queue.'),
  sale_starts_at: Instant('The opening: the pre-queue is drawn into the line; null: on sale since its creation.'),
  sale_ends_at: Instant('No join is accepted from then on; null: open until sold out.'),
  state: SaleState,
  draw_commitment: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()], {
    description: 'hex(SHA-256(S)) of the draw\'s secret S, published when the pre-queue was scheduled (docs/fairness.md).',
  }),
  join_challenge: Type.Boolean({ description: 'A join must carry a solved ALTCHA challenge.' }),
};

export const TicketType = Type.Object({
  id: Id,
  name: Type.String(),
  price: Type.String({ description: 'Decimal string, e.g. "49.00".' }),
  capacity: Type.Integer(),
  quantity_available: Type.Integer(),
  max_per_order: Type.Integer(),
  ...LifecycleFields,
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

const SettableInstant = (description: string) => Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description }));

/** What the organiser sets of a sale's lifecycle, on creation and by PATCH /admin/ticket-types/:id. */
const LifecycleSettings = {
  prequeue_opens_at: SettableInstant('Opens the pre-queue (needs sale_starts_at); null removes it.'),
  sale_starts_at: SettableInstant('The opening; null: on sale at once.'),
  sale_ends_at: SettableInstant('The close; null: none.'),
  join_challenge: Type.Optional(Type.Boolean({ description: 'Require a solved ALTCHA challenge with every join.' })),
  challenge_difficulty: Type.Optional(Type.Integer({
    minimum: 1_000, maximum: 10_000_000, description: 'The challenge\'s work: the largest counter a solver may have to reach (default 50,000).',
  })),
};

export const NewTicketType = Type.Object(
  {
    name: Text(200, 1),
    price: Type.String({
      pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,4})?$',
      description: 'Decimal string in the event\'s currency, with at most its minor units: "49.00" EUR, "5000" JPY.',
    }),
    capacity: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 4 })),
    ...LifecycleSettings,
    confirm_by: Type.Optional(ConfirmBy),
    checkout_url: Type.Optional(HttpUrl),
  },
  { additionalProperties: false },
);
export type NewTicketType = Static<typeof NewTicketType>;

/** PATCH /admin/ticket-types/:id: the lifecycle, the capacity (adds or withdraws unsold stock), an early close. */
export const TicketTypeChange = Type.Object(
  {
    ...LifecycleSettings,
    capacity: Type.Optional(Type.Integer({
      minimum: 0, maximum: 10_000_000, description: 'The new capacity: the difference is added to, or withdrawn from, the stock available now.',
    })),
    close: Type.Optional(Type.Literal(true, { description: 'Close the sale now: no join is accepted any more.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type TicketTypeChange = Static<typeof TicketTypeChange>;

/** What a join checks against: who the ticket type belongs to, its per-buyer cap, its sale's times and challenge. */
export interface TicketTypeRule {
  id: number;
  event_id: number;
  max_per_order: number;
  sale: SaleTimes;
  join_challenge: boolean;
  challenge_difficulty: number;
  draw_commitment: string | null;
  confirm_by: 'buyer' | 'organiser';
}
