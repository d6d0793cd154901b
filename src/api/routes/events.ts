// The public listing: events with their ticket types and live stock.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { getEvent, listEvents } from '../../db/catalog.ts';
import { notFound } from '../../domain/errors.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, IdParams } from '../schemas/common.ts';

export const TicketTypeBody = Type.Object({
  id: Id,
  name: Type.String(),
  price: Type.String({ description: 'Decimal string, e.g. "49.00".' }),
  capacity: Type.Integer(),
  quantity_available: Type.Integer(),
  max_per_order: Type.Integer(),
});

export const EventBody = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  venue: Type.String(),
  starts_at: Type.String({ format: 'date-time' }),
  ticket_types: Type.Array(TicketTypeBody),
});

export const eventRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx }) => {
  app.get('/events', {
    schema: { summary: 'Events with their ticket types', response: { 200: Type.Array(EventBody), ...errors(503) } },
  }, () => listEvents(ctx.db));

  app.get('/events/:id', {
    schema: { summary: 'One event', params: IdParams, response: { 200: EventBody, ...errors(400, 404, 503) } },
  }, async (req) => {
    const event = await getEvent(ctx.db, Number(req.params.id));
    if (!event) throw notFound(`Event ${req.params.id}`);
    return event;
  });
};
