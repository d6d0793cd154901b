// The organiser's side: create events and ticket types, read the figures of every line.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Event, NewEvent, NewTicketType, TicketType } from '../../domain/catalog.ts';
import { EXPIRING_WITHIN_SECONDS, TicketTypeStats } from '../../domain/figures.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, IdParams } from '../schemas/common.ts';

export const adminRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];

  app.post('/admin/events', {
    schema: { summary: 'Create an event', security, body: NewEvent, response: { 201: Event, ...errors(400, 401, 403, 503) } },
  }, async (req, reply) => reply.code(201).send(await sale.createEvent(req.body)));

  app.post('/admin/events/:id/ticket-types', {
    schema: {
      summary: 'Add a ticket type to an event',
      description: 'The whole capacity is available at once.',
      security,
      params: IdParams,
      body: NewTicketType,
      response: { 201: TicketType, ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => reply.code(201).send(await sale.addTicketType(Number(req.params.id), req.body)));

  app.get('/admin/stats', {
    schema: {
      summary: 'Stock and line figures per ticket type',
      security,
      response: {
        200: Type.Object({ expiring_within_seconds: Type.Integer(), ticket_types: Type.Array(TicketTypeStats) }),
        ...errors(401, 403, 503),
      },
    },
  }, async () => ({ expiring_within_seconds: EXPIRING_WITHIN_SECONDS, ticket_types: await sale.stats() }));
};
