// The public listing: events with their ticket types and live stock.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Event } from '../../domain/catalog.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, IdParams } from '../schemas/common.ts';

export const eventRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { sale }) => {
  app.get('/events', {
    schema: { summary: 'Events with their ticket types', response: { 200: Type.Array(Event), ...errors(503) } },
  }, () => sale.events());

  app.get('/events/:id', {
    schema: { summary: 'One event', params: IdParams, response: { 200: Event, ...errors(400, 404, 503) } },
  }, (req) => sale.event(Number(req.params.id)));
};
