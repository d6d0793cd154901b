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
  | 'service_unavailable';

export class SaleError extends Error {
  constructor(
    readonly code: SaleErrorCode,
    message: string,
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
