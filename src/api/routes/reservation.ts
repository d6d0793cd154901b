// A token's status, and the buyer's two decisions: confirm or cancel.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { tokenNotFound } from '../../domain/errors.ts';
import { StatusReport } from '../../domain/status.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, TokenBody, TokenQuery } from '../schemas/common.ts';
import { addressLimit } from '../security.ts';

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
    onRequest: actionLimit,
    schema: {
      summary: 'Confirm a hold before it runs out',
      description: 'Books the held tickets. A repeat returns the same booking.',
      body: TokenBody,
      response: {
        200: Type.Object({ status: Type.Literal('confirmed'), booking_id: Id, ticket_type_id: Id, quantity: Type.Integer() }),
        ...errors(400, 404, 409, 429, 503),
      },
    },
  }, async (req) => ({ status: 'confirmed' as const, ...(await sale.confirm(req.body.token)) }));

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
