// POST /queue/join: a buyer joins the line of one ticket type.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findHold } from '../../db/holds.ts';
import { AppError } from '../../domain/errors.ts';
import { newToken } from '../../domain/token.ts';
import { joinLine, readHoldCache } from '../../redis/lines.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, StatusBody } from '../schemas/common.ts';
import { holdStatus } from '../token-status.ts';

const JoinBody = Type.Object(
  {
    user_id: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
      description: 'Who is buying: a name, e-mail or account id (no control characters).',
    }),
    ticket_type_id: Id,
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1 })),
  },
  { additionalProperties: false },
);

const JoinReply = Type.Intersect([Type.Object({ queue_token: Type.String() }), StatusBody]);

export const queueRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, ticketTypes }) => {
  app.post('/queue/join', {
    schema: {
      summary: 'Join the line for a ticket type',
      description: 'Returns a secret queue token. The same user joining the same ticket type again while pending or reserved gets 200 and the same token.',
      body: JoinBody,
      response: { 200: JoinReply, 202: JoinReply, ...errors(400, 404, 429, 503) },
    },
  }, async (req, reply) => {
    const { user_id: userId, ticket_type_id: ticketTypeId, quantity = 1 } = req.body;
    const rule = await ticketTypes.get(ticketTypeId);
    if (!rule) throw new AppError(404, 'ticket_type_not_found', `Ticket type ${ticketTypeId} does not exist.`);
    if (quantity > rule.max_per_order) {
      throw new AppError(400, 'quantity_too_large', `At most ${rule.max_per_order} tickets of this type per order.`);
    }
    let joined = await joinLine(ctx.redis, ctx.keys, ticketTypeId, newToken(ticketTypeId), userId, quantity);
    if (!joined.created && joined.state === 'R') {
      // The user holds (or held) tickets of this type: the same token while the hold lives.
      const cached = await readHoldCache(ctx.redis, ctx.keys, joined.token);
      const hold = cached?.status === 'reserved' && Date.parse(cached.expires_at) > Date.now()
        ? { status: 'reserved' as const, expires_at: cached.expires_at }
        : await findHold(ctx.db, joined.token).then((h) => h && holdStatus(h));
      if (hold?.status === 'reserved') {
        return reply.code(200).send({
          queue_token: joined.token, status: 'reserved', ticket_type_id: ticketTypeId,
          quantity: joined.quantity, expires_at: hold.expires_at,
        });
      }
      joined = await joinLine(ctx.redis, ctx.keys, ticketTypeId, newToken(ticketTypeId), userId, quantity, true);
    }
    return reply.code(joined.created ? 202 : 200).send({
      queue_token: joined.token, status: 'pending', ticket_type_id: ticketTypeId,
      quantity: joined.quantity, position: Math.max(1, joined.position),
    });
  });
};
