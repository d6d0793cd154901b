// What the organiser's own systems use: API keys that confirm after payment, the checkout pass the
// buyer's page hands on, and the bookings of an event. One schema each; the types derive from them.
import { Type, type Static } from 'typebox';
import { Id } from './status.ts';

/** How every API key starts, so that a bearer token is known for one (and secret scanners find leaked ones). */
export const API_KEY_PREFIX = 'bxk_';

export const NewApiKey = Type.Object(
  {
    event_id: Id,
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$', description: 'Says who uses the key, e.g. "payments server".' }),
  },
  { additionalProperties: false },
);
export type NewApiKey = Static<typeof NewApiKey>;

export const ApiKey = Type.Object({
  id: Id,
  event_id: Id,
  name: Type.String(),
  key_prefix: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type ApiKey = Static<typeof ApiKey>;

export const CreatedApiKey = Type.Evaluate(Type.Intersect([
  ApiKey,
  Type.Object({ key: Type.String({ description: 'Send as "Authorization: Bearer <key>". Shown only in this answer; only a hash is kept.' }) }),
]));
export type CreatedApiKey = Static<typeof CreatedApiKey>;

export const CheckoutPass = Type.Object({
  checkout_url: Type.String({ description: "The ticket type's checkout_url with the pass added as the query parameter `pass`." }),
  pass: Type.String({ description: 'A compact JWS (EdDSA, /.well-known/jwks.json) of the hold: token, hold_id, quantity, exp and more.' }),
  expires_at: Type.String({ format: 'date-time', description: 'The end of the hold, and of the pass.' }),
});
export type CheckoutPass = Static<typeof CheckoutPass>;

/** The claims of a checkout pass (besides exp, the hold's end, and iat). */
export interface CheckoutClaims {
  purpose: 'checkout';
  token: string;
  hold_id: number;
  event_id: number;
  ticket_type_id: number;
  user_id: string;
  quantity: number;
  unit_price: string;
  currency: string;
}

export const Booking = Type.Object({
  booking_id: Id,
  hold_id: Id,
  ticket_type_id: Id,
  ticket_type: Type.String({ description: "The ticket type's name." }),
  user_id: Type.String(),
  quantity: Type.Integer(),
  unit_price: Type.String({ description: 'Decimal string in the minor units of the currency, e.g. "49.00", "5000" (JPY).' }),
  currency: Type.String({ description: 'ISO 4217 code of the event.' }),
  confirmed_at: Type.String({ format: 'date-time' }),
});
export type Booking = Static<typeof Booking>;

/** The columns of the CSV export, in order: Booking's fields. */
export const BOOKING_COLUMNS = Object.keys(Booking.properties) as (keyof Booking)[];
