// Schemas shared by routes. Bodies reject unknown fields; ids in paths are decimal strings.
import { Type, type TSchema } from 'typebox';
import { TOKEN_PATTERN } from '../../domain/token.ts';

export { Id } from '../../domain/status.ts';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      opens_at: Type.Optional(Type.String({ format: 'date-time', description: 'sale_not_open: when joining opens.' })),
      challenge: Type.Optional(Type.Object({}, {
        additionalProperties: true, description: 'challenge_required, challenge_failed: a fresh ALTCHA challenge to solve.',
      })),
    }),
  },
  { $id: 'ErrorBody', description: 'Every failure: a stable snake_case code and a sentence for people.' },
);

// What each status means across the API; the OpenAPI document shows it beside every error response.
const ERROR_MEANINGS: Record<number, string> = {
  400: 'Bad input (invalid_request or a more precise code); nothing was changed.',
  401: 'unauthorized: missing or wrong admin token.',
  403: 'admin_disabled: the server has no ADMIN_TOKEN; challenge_required or challenge_failed on a join: solve error.challenge.',
  404: 'Unknown id or token.',
  409: 'Conflicts with the current state (reservation_expired, not_reserved, ...); the code says which.',
  422: 'idempotency_key_reused: this Idempotency-Key was first used for another request.',
  429: 'rate_limited: too many requests; see Retry-After.',
  503: 'service_unavailable (PostgreSQL or Redis is down or not answering) or overloaded (this server is full); retry after Retry-After.',
};

export const errors = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorBody', { description: ERROR_MEANINGS[c] ?? 'An error.' })]));

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$' }) }, { additionalProperties: false });

export const Token = Type.String({ pattern: TOKEN_PATTERN, description: 'The secret queue token from POST /queue/join.' });
export const TokenBody = Type.Object({ token: Token }, { additionalProperties: false });
export const TokenQuery = Type.Object({ token: Token }, { additionalProperties: false });

/** A page's position: the id after (or before) which the next page starts, from next_cursor. */
export const Cursor = Type.String({ pattern: '^[0-9]{1,15}$', description: 'next_cursor of the previous page.' });
export const PageLimit = Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: 'Items per page: default 100, at most 1000.' });
export const pageLimit = (limit?: string) => Math.min(1_000, Number(limit ?? 100));
