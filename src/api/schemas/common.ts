// Schemas shared by routes. Bodies reject unknown fields; ids in paths are decimal strings.
import { Type, type TSchema } from 'typebox';
import { TOKEN_PATTERN } from '../../domain/token.ts';

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'ErrorBody', description: 'Every failure: a stable snake_case code and a sentence for people.' },
);

export const errors = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorBody')]));

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
  expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'End of the hold; only while reserved.' })),
  booking_id: Type.Optional(Id),
});
