// A token's status, and the buyer's two decisions: confirm or cancel.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { tokenNotFound } from '../../domain/errors.ts';
import { StatusReport } from '../../domain/status.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, TokenBody, TokenQuery } from '../schemas/common.ts';

export const reservationRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { sale }) => {
  app.get('/reservation/status', {
    schema: {
      summary: "A token's status",
      description: 'pending (with position), reserved (with expires_at), confirmed (with booking_id), expired, cancelled or sold_out.',
      querystring: TokenQuery,
      response: { 200: StatusReport, ...errors(400, 404, 503) },
    },
  }, async (req) => {
    const report = await sale.status(req.query.token);
    if (!report) throw tokenNotFound();
    return report;
  });

  app.post('/reservation/confirm', {
    schema: {
      summary: 'Confirm a hold before it runs out',
      description: 'Books the held tickets. A repeat returns the same booking.',
      body: TokenBody,
      response: {
        200: Type.Object({ status: Type.Literal('confirmed'), booking_id: Id, ticket_type_id: Id, quantity: Type.Integer() }),
        ...errors(400, 404, 409, 503),
      },
    },
  }, async (req) => ({ status: 'confirmed' as const, ...(await sale.confirm(req.body.token)) }));

  app.post('/reservation/cancel', {
    schema: {
      summary: 'Leave the line, or give a hold back',
      description: "A pending buyer leaves the line; a hold's tickets go back on sale at once. A repeat answers the same.",
      body: TokenBody,
      response: { 200: Type.Object({ status: Type.Literal('cancelled') }), ...errors(400, 404, 409, 503) },
    },
  }, async (req) => {
    await sale.cancel(req.body.token);
    return { status: 'cancelled' as const };
  });
};
