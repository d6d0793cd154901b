// POST /queue/join: a buyer joins the line of one ticket type.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { userTicketCount } from '../../db/user-tickets.ts';
import { AppError } from '../../domain/errors.ts';
import { newToken } from '../../domain/token.ts';
import { joinLine } from '../../redis/lines.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, StatusBody } from '../schemas/common.ts';
import { joinLimits } from '../security.ts';

const JoinBody = Type.Object(
  {
    user_id: Type.String({
      minLength: 1,
      maxLength: 128,
      // Besides control characters: invisible and direction-changing characters, which would let
      // two ids that look alike on the dashboard be different buyers, unpaired surrogates and
      // noncharacters; and no space at either end.
      pattern: '^(?!\\s)(?!.*\\s$)[^\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff0-\\uffff\\ud800-\\udfff]+$',
      description: 'Who is buying: a name, e-mail or account id (no control or invisible characters, no space at either end).',
    }),
    ticket_type_id: Id,
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1 })),
  },
  { additionalProperties: false },
);

const JoinReply = Type.Intersect([Type.Object({ queue_token: Type.String() }), StatusBody]);

// The original answered a repeat join with the first token. user_id is not authenticated, so
// that handed a buyer's reservation to anyone who knew their e-mail: I5 wins over compatibility.
const alreadyJoined = (where: string) => new AppError(409, 'already_joined',
  `This buyer ${where}. Use the queue token from the first join; it is never handed out a second time.`);

export const queueRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, ticketTypes }) => {
  const limits = joinLimits(app, ctx.config);

  app.post('/queue/join', {
    onRequest: limits.perAddress,
    schema: {
      summary: 'Join the line for a ticket type',
      description: 'Returns a secret queue token, once: the same user joining the same ticket type again while pending or reserved gets 409 already_joined. '
        + 'A user may hold or have bought at most max_per_order tickets of one ticket type in total (409 user_limit_reached).',
      body: JoinBody,
      response: { 202: JoinReply, ...errors(400, 404, 409, 429, 503) },
    },
  }, async (req, reply) => {
    const { user_id: userId, ticket_type_id: ticketTypeId, quantity = 1 } = req.body;
    const rule = await ticketTypes.get(ticketTypeId);
    if (!rule) throw new AppError(404, 'ticket_type_not_found', `Ticket type ${ticketTypeId} does not exist.`);
    if (quantity > rule.max_per_order) {
      throw new AppError(400, 'quantity_too_large', `At most ${rule.max_per_order} tickets of this type per order.`);
    }
    const token = newToken(ticketTypeId);
    let joined = await joinLine(ctx.redis, ctx.keys, ticketTypeId, token, userId, quantity, { stopIfReturning: true });
    // A user's first join happens once; what follows it (a repeat, a return) counts against the
    // per-user limit, so that the common join costs one Redis round trip.
    if (!joined.created) await limits.perUser?.(req, reply);
    if (joined.state === 'P' && !joined.created) {
      throw alreadyJoined(`waits in this line at position ${Math.max(1, joined.position)}`);
    }
    if (joined.state === 'R') throw alreadyJoined(`holds tickets of this type until ${joined.holdEndsAt}`);
    if (!joined.created) {
      // A returning buyer (an earlier token ended): what they hold or bought counts against the
      // cap. They have no live token, and the line gives them at most one, so the count cannot
      // grow between this check and the join.
      const taken = await userTicketCount(ctx.db, ticketTypeId, userId);
      if (taken + quantity > rule.max_per_order) {
        throw new AppError(409, 'user_limit_reached',
          `One buyer may have at most ${rule.max_per_order} tickets of this type; you already hold or bought ${taken}.`);
      }
      joined = await joinLine(ctx.redis, ctx.keys, ticketTypeId, token, userId, quantity, { replacing: joined.token });
      // A concurrent join of the same user got there first.
      if (!joined.created) throw alreadyJoined('joined this line a moment ago');
    }
    return reply.code(202).send({
      queue_token: joined.token, status: 'pending', ticket_type_id: ticketTypeId,
      quantity: joined.quantity, position: Math.max(1, joined.position),
    });
  });
};
