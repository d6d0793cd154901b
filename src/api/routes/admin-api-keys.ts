// API keys of the organiser's servers: each confirms the holds of one event after payment (issue 14).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiKey, CreatedApiKey, NewApiKey } from '../../domain/organiser.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, IdParams } from '../schemas/common.ts';

export const adminApiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];
  const { organiser } = sale;

  app.post('/admin/api-keys', {
    schema: {
      summary: "Create an API key for an event's server",
      description: 'The key confirms holds of that event only (POST /reservation/confirm with "Authorization: Bearer <key>" and an '
        + 'Idempotency-Key). It is in this answer only: boxoffice keeps a hash.',
      security,
      body: NewApiKey,
      response: { 201: CreatedApiKey, ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => reply.code(201).send(await organiser.createApiKey(req.body)));

  app.get('/admin/api-keys', {
    schema: {
      summary: 'API keys, revoked ones included (without the keys)',
      security,
      querystring: Type.Object({ event_id: Type.Optional(IdParams.properties.id) }, { additionalProperties: false }),
      response: { 200: Type.Array(ApiKey), ...errors(400, 401, 403, 503) },
    },
  }, (req) => organiser.apiKeys(req.query.event_id ? Number(req.query.event_id) : undefined));

  app.delete('/admin/api-keys/:id', {
    schema: {
      summary: 'Revoke an API key',
      description: 'Requests with it answer 401 invalid_api_key from now on. A repeat answers the same.',
      security,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Revoked.' }), ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => {
    await organiser.revokeApiKey(Number(req.params.id));
    return reply.code(204).send(null);
  });
};
