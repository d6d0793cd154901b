// Builds the HTTP application as a plugin tree; it never listens (src/main.ts does).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { Sale } from '../sale/sale.ts';
import { registerDocs } from './docs.ts';
import { errorBody } from './errors.ts';
import { ErrorBody } from './schemas/common.ts';
import { handleClientError, handleError, handleFrameworkError } from './error-handler.ts';
import { adminRoutes } from './routes/admin.ts';
import { adminApiKeyRoutes } from './routes/admin-api-keys.ts';
import { adminBookingRoutes } from './routes/admin-bookings.ts';
import { adminWebhookRoutes } from './routes/admin-webhooks.ts';
import { adminControlRoutes } from './routes/admin-control.ts';
import { adminWebRoutes } from './routes/admin-web.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { adminOnsaleRoutes, onsaleRoutes } from './routes/onsale.ts';
import { queueRoutes } from './routes/queue.ts';
import { reservationRoutes } from './routes/reservation.ts';
import { streamRoutes } from './routes/stream.ts';
import { webRoutes } from './routes/web.ts';
import { wellKnownRoutes } from './routes/well-known.ts';
import { registerSecurity, trustProxy } from './security.ts';
import { registerConcurrencyLimit, registerPressure } from './shedding.ts';

export interface AppOptions {
  /** Request logs; false for none (tests). Defaults to the context's logger. */
  logger?: Logger | false;
  /** The process's sale service; one is made when none is given. */
  sale?: Sale;
  /** Pass the process's own when the engine runs beside the API, so one scrape shows both. */
  metrics?: Metrics;
  /** 'ops': a worker's app, with only health and metrics, so that workers can be probed and scraped. */
  routes?: 'all' | 'ops';
}

export async function buildApp(ctx: Context, options: AppOptions = {}): Promise<FastifyInstance> {
  const { logger = ctx.log, routes = 'all' } = options;
  const sale = options.sale ?? (await Sale.open(ctx));
  const metrics = options.metrics ?? createMetrics(sale, ctx.log, ctx.lines);
  const app = Fastify({
    loggerInstance: (logger || undefined) as FastifyBaseLogger | undefined,
    bodyLimit: 16 * 1024,
    trustProxy: trustProxy(ctx.config),
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  app.addSchema(ErrorBody);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody('not_found', `No route ${req.method} ${req.url.split('?')[0]}.`)),
  );

  const deps = { ctx, sale };
  app.addHook('onResponse', async (req, reply) => metrics.observeRequest(req, reply));
  if (routes === 'ops') {
    await app.register(healthRoutes, deps);
    await app.register(metricsRoutes, { ...deps, metrics });
    return app;
  }
  // First of all hooks: a request refused for load costs nothing else (no rate limit round trip).
  registerConcurrencyLimit(app, ctx.config);
  await registerPressure(app, ctx.config);
  await registerSecurity(app, ctx);
  await registerDocs(app);

  await app.register(healthRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(queueRoutes, deps);
  await app.register(reservationRoutes, deps);
  await app.register(streamRoutes, deps);
  await app.register(adminRoutes, deps);
  await app.register(adminControlRoutes, deps);
  await app.register(adminWebhookRoutes, deps);
  await app.register(adminApiKeyRoutes, deps);
  await app.register(adminBookingRoutes, deps);
  await app.register(adminWebRoutes, deps);
  await app.register(metricsRoutes, { ...deps, metrics });
  await app.register(wellKnownRoutes, deps);
  await app.register(onsaleRoutes, deps);
  await app.register(adminOnsaleRoutes, deps);
  await app.register(webRoutes);
  return app;
}
