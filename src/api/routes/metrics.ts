// GET /metrics: Prometheus scrape endpoint (text format 0.0.4).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Metrics } from '../../metrics.ts';
import type { RouteDeps } from '../deps.ts';

export const metricsRoutes: FastifyPluginAsyncTypebox<RouteDeps & { metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics',
      description:
        'Lines, stock and holds per ticket type (read from PostgreSQL and Redis at scrape time, the same figures as ' +
        'GET /admin/stats), HTTP request durations by route, processor batches, sweeps and process metrics. ' +
        'boxoffice_figures_up is 0 when the sale figures could not be read.',
      response: {
        200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: Type.String() } } },
      },
    },
  }, async (_req, reply) => {
    const body = await metrics.scrape();
    return reply.type(metrics.registry.contentType).send(body);
  });
};
