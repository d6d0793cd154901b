// Errors as HTTP sees them: the status of every sale error code, and the errors only HTTP has
// (admin access, rate limits, encodings). The error handler turns both into the JSON body.
import type { SaleErrorCode } from '../domain/errors.ts';

export const SALE_ERROR_STATUS: Record<SaleErrorCode, number> = {
  not_found: 404,
  ticket_type_not_found: 404,
  token_not_found: 404,
  quantity_too_large: 400,
  already_joined: 409,
  user_limit_reached: 409,
  reservation_expired: 409,
  reservation_cancelled: 409,
  already_confirmed: 409,
  not_reserved: 409,
  service_unavailable: 503,
  sale_not_open: 409,
  sale_closed: 409,
  sale_already_open: 409,
  invalid_schedule: 400,
  capacity_in_use: 409,
  challenge_required: 403,
  challenge_failed: 403,
  no_prequeue: 404,
  unknown_currency: 400,
  invalid_price: 400,
  checkout_url_required: 400,
  api_key_required: 401,
  invalid_api_key: 401,
  wrong_event: 403,
  idempotency_key_required: 400,
  idempotency_key_reused: 422,
  no_checkout: 409,
  delivery_in_flight: 409,
};

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Sent as Retry-After; every 503 has one (RETRY_AFTER_SECONDS unless given). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const adminDisabled = () => new HttpError(403, 'admin_disabled', 'The admin API is off: set ADMIN_TOKEN to enable it.');
export const unauthorized = () => new HttpError(401, 'unauthorized', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".');
export const rateLimited = (message: string, seconds: number) => new HttpError(429, 'rate_limited', `${message} Try again in ${seconds} s.`);
/** Seconds a client is told to wait (Retry-After) when a backing service is down or the process is full. */
export const RETRY_AFTER_SECONDS = 2;

export const overloaded = (what: string, retryAfterSeconds = RETRY_AFTER_SECONDS) =>
  new HttpError(503, 'overloaded', `${what}; try again in ${retryAfterSeconds} s.`, retryAfterSeconds);
export const tooManyStreams = () => new HttpError(429, 'too_many_streams',
  'Too many live streams are open from this network address; close one, or poll the status instead.', RETRY_AFTER_SECONDS);
export const unsupportedEncoding = () =>
  new HttpError(415, 'unsupported_content_encoding', 'Send the request body uncompressed, without Content-Encoding.');

export const errorBody = (code: string, message: string, details?: Record<string, unknown>) => ({ error: { code, message, ...details } });
