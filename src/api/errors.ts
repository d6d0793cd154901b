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
};

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const adminDisabled = () => new HttpError(403, 'admin_disabled', 'The admin API is off: set ADMIN_TOKEN to enable it.');
export const unauthorized = () => new HttpError(401, 'unauthorized', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".');
export const rateLimited = (message: string, seconds: number) => new HttpError(429, 'rate_limited', `${message} Try again in ${seconds} s.`);
export const unsupportedEncoding = () =>
  new HttpError(415, 'unsupported_content_encoding', 'Send the request body uncompressed, without Content-Encoding.');

export const errorBody = (code: string, message: string) => ({ error: { code, message } });
