// Liveness and readiness for load balancers and orchestrators.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RouteDeps } from '../deps.ts';

const CHECK_TIMEOUT_MS = 1_000;

const within = <T>(p: Promise<T>) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(r, CHECK_TIMEOUT_MS, false))]).catch(() => false);

const Readiness = Type.Object({ status: Type.String(), redis: Type.Boolean(), postgres: Type.Boolean() });

export const healthRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx }) => {
  app.get('/healthz', {
    schema: { summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { summary: 'Redis and PostgreSQL answer', response: { 200: Readiness, 503: { ...Readiness, description: 'Redis or PostgreSQL does not answer.' } } },
  }, async (_req, reply) => {
    const [redis, postgres] = await Promise.all([within(ctx.redis.ping()), within(ctx.db.query('SELECT 1'))]);
    return reply.code(redis && postgres ? 200 : 503).send({ status: redis && postgres ? 'ready' : 'unavailable', redis, postgres });
  });
};
