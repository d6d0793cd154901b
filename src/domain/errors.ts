// The sale's errors: one catalogue of stable snake_case codes that clients branch on, each with a
// message that tells a person what to do next. The HTTP layer maps codes to statuses
// (src/api/errors.ts); nothing here knows about HTTP.
import type { Status } from './status.ts';

export type SaleErrorCode =
  | 'not_found'
  | 'ticket_type_not_found'
  | 'token_not_found'
  | 'quantity_too_large'
  | 'already_joined'
  | 'user_limit_reached'
  | 'reservation_expired'
  | 'reservation_cancelled'
  | 'already_confirmed'
  | 'not_reserved'
  | 'service_unavailable'
  | 'sale_not_open'
  | 'sale_closed'
  | 'sale_already_open'
  | 'invalid_schedule'
  | 'capacity_in_use'
  | 'challenge_required'
  | 'challenge_failed'
  | 'no_prequeue'
  | OrganiserErrorCode;

/** The organiser's integration (issue 14): money, API keys, confirmation after payment, webhooks. */
type OrganiserErrorCode =
  | 'unknown_currency'
  | 'invalid_price'
  | 'checkout_url_required'
  | 'api_key_required'
  | 'invalid_api_key'
  | 'wrong_event'
  | 'idempotency_key_required'
  | 'idempotency_key_reused'
  | 'no_checkout'
  | 'delivery_in_flight';

export class SaleError extends Error {
  constructor(
    readonly code: SaleErrorCode,
    message: string,
    /** Facts a client acts on, sent beside code and message (when the sale opens, a fresh challenge). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const eventNotFound = (id: number) => new SaleError('not_found', `Event ${id} does not exist.`);
export const ticketTypeNotFound = (id: number) => new SaleError('ticket_type_not_found', `Ticket type ${id} does not exist.`);
export const tokenNotFound = () => new SaleError('token_not_found', 'No reservation has this token.');
export const unavailable = (what: string) =>
  new SaleError('service_unavailable', `${what} is unavailable right now; try again in a few seconds.`);

export const quantityTooLarge = (max: number) =>
  new SaleError('quantity_too_large', `At most ${max} tickets of this type per order.`);

// The original answered a repeat join with the first token. user_id is not authenticated, so
// that handed a buyer's reservation to anyone who knew their e-mail: I5 wins over compatibility.
export const alreadyJoined = (where: string) => new SaleError('already_joined',
  `This buyer ${where}. Use the queue token from the first join; it is never handed out a second time.`);

export const userLimitReached = (max: number, taken: number) => new SaleError('user_limit_reached',
  `One buyer may have at most ${max} tickets of this type; you already hold or bought ${taken}.`);

/** Why a token whose status is `status` cannot be confirmed or cancelled. */
export function notAHold(status: Status): SaleError {
  switch (status) {
    case 'expired':
      return new SaleError('reservation_expired', 'The hold ran out and its tickets went back on sale; join the line again.');
    case 'cancelled':
      return new SaleError('reservation_cancelled', 'This reservation was cancelled.');
    case 'confirmed':
      return new SaleError('already_confirmed', 'This reservation is confirmed; it can no longer be cancelled.');
    case 'sold_out':
      return new SaleError('not_reserved', 'Tickets sold out before this buyer was admitted.');
    default:
      return new SaleError('not_reserved', 'This buyer is still in line; confirm once the status is reserved.');
  }
}

// Scheduled on-sale (issue 13).
export const saleNotOpen = (opensAt: string) =>
  new SaleError('sale_not_open', `This sale opens at ${opensAt}; join from then on.`, { opens_at: opensAt });
export const saleClosed = () => new SaleError('sale_closed', 'This sale is closed: no more buyers are let in.');
export const saleAlreadyOpen = (what: string) => new SaleError('sale_already_open', `${what} can no longer change: the sale or its pre-queue has opened.`);
export const invalidSchedule = (why: string) => new SaleError('invalid_schedule', why);
export const capacityInUse = (sold: number) =>
  new SaleError('capacity_in_use', `${sold} tickets are held or sold: the capacity cannot go below that.`);
export const noPrequeue = (id: number) => new SaleError('no_prequeue', `Ticket type ${id} has no pre-queue, so no draw.`);
export const challengeRequired = (challenge: object) => new SaleError('challenge_required',
  'This sale asks every buyer to solve a small puzzle first (ALTCHA): solve the challenge and send its payload as "altcha".', { challenge });
export const challengeFailed = (challenge: object) => new SaleError('challenge_failed',
  'The challenge\'s solution is wrong, expired or already used: solve this fresh one and join again.', { challenge });

// The organiser's integration (issue 14).
export const notFound = (what: string) => new SaleError('not_found', `${what} does not exist.`);
export const unknownCurrency = (code: string) => new SaleError('unknown_currency', `${code} is not an ISO 4217 currency code in use, such as EUR, USD or JPY.`);
export const invalidPrice = (price: string, currency: string, digits: number) => new SaleError('invalid_price',
  digits ? `${price} has a digit finer than the smallest unit of ${currency}: give at most ${digits} decimals.`
    : `${currency} has no minor unit: give ${price} as a whole number.`);
export const checkoutUrlRequired = () => new SaleError('checkout_url_required',
  'A ticket type confirmed by the organiser needs a checkout_url, where the buyer pays.');
export const apiKeyRequired = () => new SaleError('api_key_required',
  "The organiser confirms this ticket type once the buyer has paid: their server sends \"Authorization: Bearer <API key>\"; the buyer's page goes on to the checkout.");
export const invalidApiKey = () => new SaleError('invalid_api_key', 'This API key is unknown or has been revoked; create a new one in the dashboard.');
export const wrongEvent = () => new SaleError('wrong_event', "This API key belongs to another event than this token's ticket type.");
export const idempotencyKeyRequired = () => new SaleError('idempotency_key_required',
  'Send an Idempotency-Key header (a unique string per confirmation, e.g. a UUID), so that a retry cannot be mistaken for a new request.');
export const idempotencyKeyReused = () => new SaleError('idempotency_key_reused',
  'This Idempotency-Key was used for another request; use a new key for each confirmation.');
export const noCheckout = () => new SaleError('no_checkout', 'The buyer confirms this ticket type on the ticket page; it has no organiser checkout.');
export const deliveryInFlight = () => new SaleError('delivery_in_flight', 'This delivery is being attempted right now; look again in a few seconds.');
