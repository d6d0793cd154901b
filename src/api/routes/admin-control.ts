// The organiser stops and resumes admission for a ticket type (pausing a sale). Buyers may still
// join while paused; they wait in line and keep their order. See LineStore.pause in src/redis/line-store.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, IdParams } from '../schemas/common.ts';

const Paused = Type.Object({ ticket_type_id: Id, paused: Type.Boolean() });

export const adminControlRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];

  app.post('/admin/ticket-types/:id/pause', {
    schema: {
      summary: 'Stop admitting buyers for a ticket type',
      description: 'The batch in flight, if any, completes; then nobody more is admitted until resumed. Joining stays open. A repeat answers the same.',
      security,
      params: IdParams,
      response: { 200: Paused, ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req) => {
    const ticketTypeId = Number(req.params.id);
    await sale.pause(ticketTypeId);
    req.log.info({ ticketTypeId }, 'admission paused');
    return { ticket_type_id: ticketTypeId, paused: true };
  });

  app.post('/admin/ticket-types/:id/resume', {
    schema: {
      summary: 'Resume admitting buyers for a ticket type',
      description: 'The line is served again at once, in join order. A repeat answers the same.',
      security,
      params: IdParams,
      response: { 200: Paused, ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req) => {
    const ticketTypeId = Number(req.params.id);
    await sale.resume(ticketTypeId);
    req.log.info({ ticketTypeId }, 'admission resumed');
    return { ticket_type_id: ticketTypeId, paused: false };
  });
};
