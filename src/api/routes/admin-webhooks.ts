// The organiser's webhook endpoints and their delivery log, with "retry now" (issue 14).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CreatedWebhook, Delivery, DeliveryStatus, NewWebhook, Webhook, WEBHOOK_EVENT_TYPES } from '../../domain/webhooks.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { Cursor, errors, IdParams, PageLimit, pageLimit } from '../schemas/common.ts';

const DeliveryQuery = Type.Object(
  {
    status: Type.Optional(DeliveryStatus),
    endpoint_id: Type.Optional(IdParams.properties.id),
    before: Type.Optional(Cursor),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
);

export const adminWebhookRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];
  const { organiser } = sale;

  app.post('/admin/webhooks', {
    schema: {
      summary: 'Register a webhook endpoint',
      description: `Events are POSTed to the URL as Standard Webhooks requests, at least once each, signed with the secret in this answer `
        + `(shown only here). Event types: ${WEBHOOK_EVENT_TYPES.join(', ')}; README describes each.`,
      security,
      body: NewWebhook,
      response: { 201: CreatedWebhook, ...errors(400, 401, 403, 503) },
    },
  }, async (req, reply) => reply.code(201).send(await organiser.createWebhook(req.body)));

  app.get('/admin/webhooks', {
    schema: { summary: 'Webhook endpoints (without their secrets)', security, response: { 200: Type.Array(Webhook), ...errors(401, 403, 503) } },
  }, () => organiser.webhooks());

  app.delete('/admin/webhooks/:id', {
    schema: {
      summary: 'Remove a webhook endpoint',
      description: 'Nothing more is sent to it, and its deliveries leave the log.',
      security,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Removed.' }), ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => {
    await organiser.deleteWebhook(Number(req.params.id));
    return reply.code(204).send(null);
  });

  app.get('/admin/webhook-deliveries', {
    schema: {
      summary: 'The webhook delivery log, newest first',
      description: 'One row per event and endpoint: status, attempts, last answer or error, next attempt. '
        + 'Pages: pass next_cursor as before.',
      security,
      querystring: DeliveryQuery,
      response: {
        200: Type.Object({ deliveries: Type.Array(Delivery), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
        ...errors(400, 401, 403, 503),
      },
    },
  }, async (req) => {
    const { status, endpoint_id: endpointId, before, limit } = req.query;
    const page = await organiser.deliveries({
      status, endpointId: endpointId ? Number(endpointId) : undefined, before: before ? Number(before) : undefined, limit: pageLimit(limit),
    });
    return { deliveries: page.items, next_cursor: page.next_cursor };
  });

  app.post('/admin/webhook-deliveries/:id/retry', {
    schema: {
      summary: 'Retry a delivery now',
      description: 'It is sent at once (same webhook-id); one that had given up gets another retry window. '
        + '409 delivery_in_flight while a dispatcher is sending it.',
      security,
      params: IdParams,
      response: { 200: Delivery, ...errors(400, 401, 403, 404, 409, 503) },
    },
  }, (req) => organiser.retryDelivery(Number(req.params.id)));
};
