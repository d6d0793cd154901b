// Schemas shared by routes. Bodies reject unknown fields; ids in paths are decimal strings.
import { Type, type TSchema } from 'typebox';
import { TOKEN_PATTERN } from '../../domain/token.ts';

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every failure: a stable snake_case code and a sentence for people.' },
);

// What each status means across the API; the OpenAPI document shows it beside every error response.
const ERROR_MEANINGS: Record<number, string> = {
  400: 'Bad input (invalid_request or a more precise code); nothing was changed.',
  401: 'unauthorized: missing or wrong admin token.',
  403: 'admin_disabled: the server has no ADMIN_TOKEN.',
  404: 'Unknown id or token.',
  409: 'Conflicts with the current state (reservation_expired, not_reserved, ...); the code says which.',
  429: 'rate_limited: too many requests; see Retry-After.',
  503: 'service_unavailable: PostgreSQL or Redis is down; retry in a few seconds.',
};

export const errors = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorBody', { description: ERROR_MEANINGS[c] ?? 'An error.' })]));

export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$' }) }, { additionalProperties: false });

export const Token = Type.String({ pattern: TOKEN_PATTERN, description: 'The secret queue token from POST /queue/join.' });
export const TokenBody = Type.Object({ token: Token }, { additionalProperties: false });
export const TokenQuery = Type.Object({ token: Token }, { additionalProperties: false });

export const Status = Type.Union([
  Type.Literal('pending'),
  Type.Literal('reserved'),
  Type.Literal('confirmed'),
  Type.Literal('expired'),
  Type.Literal('cancelled'),
  Type.Literal('sold_out'),
]);

export const StatusBody = Type.Object({
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
});
