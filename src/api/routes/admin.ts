// The organiser's side: create events and ticket types, read the figures of every line.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createEvent, createTicketType } from '../../db/catalog.ts';
import { notFound } from '../../domain/errors.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { EXPIRING_WITHIN_SECONDS, readSaleStats } from '../sale-stats.ts';
import { errors, Id, IdParams } from '../schemas/common.ts';
import { EventBody, TicketTypeBody } from './events.ts';

const Text = (maxLength: number, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$' });

const NewEvent = Type.Object(
  {
    name: Text(200, 1),
    description: Type.Optional(Text(5_000)),
    venue: Type.Optional(Text(200)),
    starts_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

const NewTicketType = Type.Object(
  {
    name: Text(200, 1),
    price: Type.String({ pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$', description: 'Decimal string, e.g. "49.00".' }),
    capacity: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 4 })),
  },
  { additionalProperties: false },
);

const TicketTypeStats = Type.Object({
  id: Id,
  event_id: Id,
  name: Type.String(),
  capacity: Type.Integer(),
  quantity_available: Type.Integer(),
  held: Type.Integer(),
  confirmed: Type.Integer(),
  waiting: Type.Integer({ description: 'Buyers in line (cancelled ones are dropped when the line reaches them).' }),
  served: Type.Integer({ description: 'Buyers who have left the line so far.' }),
  paused: Type.Boolean({ description: 'Admission stopped by the organiser (POST /admin/ticket-types/:id/pause).' }),
  admitted: Type.Integer({ description: 'Holds granted so far, whatever became of them.' }),
  holds_active: Type.Integer({ description: 'Live holds.' }),
  holds_confirmed: Type.Integer(),
  holds_expired: Type.Integer(),
  holds_cancelled: Type.Integer(),
  expiring_soon: Type.Integer({ description: 'Live holds that run out within expiring_within_seconds.' }),
  next_expiry: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'End of the soonest live hold.' }),
});

export const adminRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];

  app.post('/admin/events', {
    schema: { summary: 'Create an event', security, body: NewEvent, response: { 201: EventBody, ...errors(400, 401, 403, 503) } },
  }, async (req, reply) => reply.code(201).send(await createEvent(ctx.db, req.body)));

  app.post('/admin/events/:id/ticket-types', {
    schema: {
      summary: 'Add a ticket type to an event',
      description: 'The whole capacity is available at once.',
      security,
      params: IdParams,
      body: NewTicketType,
      response: { 201: TicketTypeBody, ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => {
    const created = await createTicketType(ctx.db, Number(req.params.id), req.body);
    if (!created) throw notFound(`Event ${req.params.id}`);
    return reply.code(201).send(created);
  });

  app.get('/admin/stats', {
    schema: {
      summary: 'Stock and line figures per ticket type',
      security,
      response: {
        200: Type.Object({ expiring_within_seconds: Type.Integer(), ticket_types: Type.Array(TicketTypeStats) }),
        ...errors(401, 403, 503),
      },
    },
  }, async () => ({ expiring_within_seconds: EXPIRING_WITHIN_SECONDS, ticket_types: await readSaleStats(ctx) }));
};
