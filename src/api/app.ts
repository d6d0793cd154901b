// Builds the HTTP application as a plugin tree; it never listens (server.ts does).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { ErrorBody } from './schemas/common.ts';
import { errorBody, handleError } from './error-handler.ts';
import { TicketTypeCache } from './ticket-type-cache.ts';
import { adminRoutes } from './routes/admin.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { queueRoutes } from './routes/queue.ts';
import { reservationRoutes } from './routes/reservation.ts';

export async function buildApp(ctx: Context, logger: Logger | false = ctx.log): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (logger || undefined) as FastifyBaseLogger | undefined,
    bodyLimit: 16 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  app.addSchema(ErrorBody);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody('not_found', `No route ${req.method} ${req.url.split('?')[0]}.`)),
  );

  const deps = { ctx, ticketTypes: new TicketTypeCache(ctx.db) };
  await app.register(healthRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(queueRoutes, deps);
  await app.register(reservationRoutes, deps);
  await app.register(adminRoutes, deps);
  return app;
}
