// A token's status, and the buyer's two decisions: confirm or cancel.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { idempotencyKeyRequired, tokenNotFound } from '../../domain/errors.ts';
import { API_KEY_PREFIX, CheckoutPass } from '../../domain/organiser.ts';
import { StatusReport } from '../../domain/status.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, TokenBody, TokenQuery } from '../schemas/common.ts';
import { addressLimit } from '../security.ts';

/**
 * An organiser's API key as a bearer token: recognised by its prefix, so that a buyer's confirm
 * that happens to carry other credentials (a proxy's, a session's) stays the buyer's confirm.
 */
const isApiKeyAuthorization = (header: string | undefined): header is string => header?.startsWith(`Bearer ${API_KEY_PREFIX}`) ?? false;

export const reservationRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  const { config } = ctx;
  const statusLimit = addressLimit(app, config, 'status', config.STATUS_LIMIT_PER_IP, 'Too many status requests from this network address.');
  // Confirm and cancel share one limit: both are a buyer's decision, rare for any one buyer.
  const actionLimit = addressLimit(app, config, 'action', config.ACTION_LIMIT_PER_IP, 'Too many confirm or cancel requests from this network address.');

  app.get('/reservation/status', {
    onRequest: statusLimit,
    schema: {
      summary: "A token's status",
      description: 'pending (with position), reserved (with expires_at), confirmed (with booking_id), expired, cancelled or sold_out.',
      querystring: TokenQuery,
      response: { 200: StatusReport, ...errors(400, 404, 429, 503) },
    },
  }, async (req) => {
    const report = await sale.status(req.query.token);
    if (!report) throw tokenNotFound();
    return report;
  });

  app.post('/reservation/confirm', {
    // The organiser's server confirms every booking of a sale from one address: its key is its
    // limit (a request that claims a key and has no valid one is refused before any work).
    onRequest: actionLimit && (async (req, reply) => {
      if (!isApiKeyAuthorization(req.headers.authorization)) await actionLimit(req, reply);
    }),
    schema: {
      summary: 'Confirm a hold before it runs out',
      description: 'Books the held tickets. A repeat returns the same booking. '
        + 'For a ticket type with confirm_by "organiser" only the organiser\'s server confirms, after payment: with '
        + '"Authorization: Bearer <API key>" (a key of the event) and an Idempotency-Key header, whose first answer is '
        + 'returned to every replay of the same request. A confirm after the hold ended answers 409: refund the buyer.',
      headers: Type.Object({
        authorization: Type.Optional(Type.String({ description: 'Bearer <API key> (bxk_...): the organiser\'s server. Other credentials are ignored.' })),
        'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Required with an API key: unique per confirmation.' })),
      }),
      body: TokenBody,
      response: {
        200: Type.Object({ status: Type.Literal('confirmed'), booking_id: Id, ticket_type_id: Id, quantity: Type.Integer() }),
        ...errors(400, 404, 409, 429, 503),
        401: Type.Ref('ErrorBody', { description: 'api_key_required: the organiser confirms this ticket type; invalid_api_key: unknown or revoked key.' }),
        403: Type.Ref('ErrorBody', { description: 'wrong_event: the API key belongs to another event.' }),
        422: Type.Ref('ErrorBody', { description: 'idempotency_key_reused: the Idempotency-Key was first used with another token.' }),
      },
    },
  }, async (req) => {
    const { authorization, 'idempotency-key': idempotencyKey } = req.headers;
    if (!isApiKeyAuthorization(authorization)) return { status: 'confirmed' as const, ...(await sale.confirm(req.body.token)) };
    if (!idempotencyKey) throw idempotencyKeyRequired();
    const key = authorization.slice('Bearer '.length);
    return { status: 'confirmed' as const, ...(await sale.confirmForOrganiser(key, idempotencyKey, req.body.token)) };
  });

  app.post('/reservation/checkout', {
    onRequest: actionLimit,
    schema: {
      summary: "A pass to the organiser's checkout for a hold",
      description: 'For a ticket type with confirm_by "organiser": a JWS signed with the key at /.well-known/jwks.json, carrying '
        + 'the token, hold_id, quantity, price and exp (the end of the hold), and the checkout_url with the pass as its `pass` '
        + 'parameter, where the buyer\'s page sends the buyer to pay. 409 no_checkout when the buyer confirms this ticket type.',
      body: TokenBody,
      response: { 200: CheckoutPass, ...errors(400, 404, 409, 429, 503) },
    },
  }, (req) => sale.organiser.checkoutPass(req.body.token));

  app.post('/reservation/cancel', {
    onRequest: actionLimit,
    schema: {
      summary: 'Leave the line, or give a hold back',
      description: "A pending buyer leaves the line; a hold's tickets go back on sale at once. A repeat answers the same.",
      body: TokenBody,
      response: { 200: Type.Object({ status: Type.Literal('cancelled') }), ...errors(400, 404, 409, 429, 503) },
    },
  }, async (req) => {
    await sale.cancel(req.body.token);
    return { status: 'cancelled' as const };
  });
};
