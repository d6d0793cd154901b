// POST /queue/join: a buyer joins the line of one ticket type.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { StatusReport } from '../../domain/status.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id } from '../schemas/common.ts';
import { joinLimits } from '../security.ts';
import { joinShedding } from '../shedding.ts';

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
    altcha: Type.Optional(Type.String({
      minLength: 1, maxLength: 8_192, description: 'A solved ALTCHA challenge (the widget\'s payload), when the ticket type has join_challenge.',
    })),
  },
  { additionalProperties: false },
);

const JoinReply = Type.Intersect([
  Type.Object({
    queue_token: Type.String(),
    entry_id: Type.String({ description: 'The public id of this join (128 bits, hex): in the draw and the admissions list.' }),
    receipt: Type.String({
      description: 'A compact JWS (EdDSA, key at /.well-known/jwks.json) of {ticket_type_id, entry_id, joined_at, kind, seq?, commitment?}.',
    }),
  }),
  StatusReport,
]);

export const queueRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  const { perAddress, perUser } = joinLimits(app, ctx.config);

  const shed = joinShedding(ctx.config);

  app.post('/queue/join', {
    // Shedding first: a refused join never costs the rate limit's round trip.
    onRequest: perAddress ? [shed, perAddress] : shed,
    schema: {
      summary: 'Join the line for a ticket type',
      description: 'Returns a secret queue token, once: the same user joining the same ticket type again while pending or reserved gets 409 already_joined. '
        + 'A user may hold or have bought at most max_per_order tickets of one ticket type in total (409 user_limit_reached). '
        + 'Before a scheduled sale opens: 409 sale_not_open (error.opens_at); between prequeue_opens_at and sale_starts_at the buyer enters '
        + 'the pre-queue (status prequeue) and is drawn into the line at the opening; after the end or a close: 409 sale_closed. '
        + 'With join_challenge: 403 challenge_required or challenge_failed, each with a fresh error.challenge to solve and send as altcha.',
      body: JoinBody,
      response: { 202: JoinReply, ...errors(400, 403, 404, 409, 429, 503) },
    },
  }, async (req, reply) => {
    const { user_id: userId, ticket_type_id: ticketTypeId, quantity = 1, altcha: challenge } = req.body;
    // A user's first join happens once; what follows it (a repeat, a return) counts against the
    // per-user limit, so that the common join costs one Redis round trip.
    const joined = await sale.join({ userId, ticketTypeId, quantity, challenge }, { beforeRepeat: perUser && (() => perUser(req, reply)) });
    return reply.code(202).send({
      queue_token: joined.token, status: joined.status, ticket_type_id: ticketTypeId, quantity: joined.quantity, position: joined.position,
      entry_id: joined.entryId, receipt: joined.receipt, sale_starts_at: joined.saleStartsAt, draw_commitment: joined.drawCommitment,
    });
  });
};
