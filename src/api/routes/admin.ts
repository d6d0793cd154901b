// The organiser's side: create events and ticket types, read the figures of every line.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createEvent, createTicketType, stockByTicketType } from '../../db/catalog.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, IdParams } from '../schemas/common.ts';
import { EventBody, TicketTypeBody } from './events.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

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
});

export const adminRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx }) => {
  const expected = ctx.config.ADMIN_TOKEN ? digest(ctx.config.ADMIN_TOKEN) : undefined;
  app.addHook('onRequest', async (req) => {
    if (!expected) throw new AppError(403, 'admin_disabled', 'The admin API is off: set ADMIN_TOKEN to enable it.');
    const [scheme, given] = (req.headers.authorization ?? '').split(' ');
    // Digests have equal length, so the comparison takes the same time whatever was sent.
    if (scheme !== 'Bearer' || !given || !timingSafeEqual(digest(given), expected)) {
      throw new AppError(401, 'unauthorized', 'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".');
    }
  });
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
      response: { 200: Type.Object({ ticket_types: Type.Array(TicketTypeStats) }), ...errors(401, 403, 503) },
    },
  }, async () => {
    const stock = await stockByTicketType(ctx.db);
    const pipeline = ctx.redis.pipeline();
    for (const t of stock) pipeline.llen(ctx.keys.line(t.id).queue).get(ctx.keys.line(t.id).served);
    const counts = (await pipeline.exec()) ?? [];
    return {
      ticket_types: stock.map((t, i) => ({
        ...t,
        waiting: Number(counts[2 * i]?.[1] ?? 0),
        served: Number(counts[2 * i + 1]?.[1] ?? 0),
      })),
    };
  });
};
