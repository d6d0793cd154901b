// The organiser stops and resumes admission for a ticket type (pausing a sale). Buyers may still
// join while paused; they wait in line and keep their order. See src/redis/line-control.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../domain/errors.ts';
import { pauseAdmission, resumeAdmission } from '../../redis/line-control.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, IdParams } from '../schemas/common.ts';

const Paused = Type.Object({ ticket_type_id: Id, paused: Type.Boolean() });

export const adminControlRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, ticketTypes }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];

  const existing = async (id: string) => {
    const ticketTypeId = Number(id);
    if (!(await ticketTypes.get(ticketTypeId))) {
      throw new AppError(404, 'ticket_type_not_found', `Ticket type ${ticketTypeId} does not exist.`);
    }
    return ticketTypeId;
  };

  app.post('/admin/ticket-types/:id/pause', {
    schema: {
      summary: 'Stop admitting buyers for a ticket type',
      description: 'The batch in flight, if any, completes; then nobody more is admitted until resumed. Joining stays open. A repeat answers the same.',
      security,
      params: IdParams,
      response: { 200: Paused, ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req) => {
    const ticketTypeId = await existing(req.params.id);
    await pauseAdmission(ctx.redis, ctx.keys, ticketTypeId);
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
    const ticketTypeId = await existing(req.params.id);
    await resumeAdmission(ctx.redis, ctx.keys, ticketTypeId);
    req.log.info({ ticketTypeId }, 'admission resumed');
    return { ticket_type_id: ticketTypeId, paused: false };
  });
};
