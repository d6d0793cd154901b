// OpenAPI 3 document generated from the route schemas, and its UI at /docs (JSON at /docs/json).
// Registered on the root instance before any route, so that it sees every route.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

// Every route can fail unexpectedly; the error handler then answers 500 with the usual body.
const INTERNAL_ERROR = { $ref: 'ErrorBody', description: 'internal_error: something failed on our side; it has been logged.' };

// Operations are grouped by who calls them, from the path.
const TAGS = [
  { name: 'buyer', description: 'Join a line, follow it, confirm or cancel: the queue token is the only credential.', match: /^\/(queue|reservation)\// },
  { name: 'events', description: 'The public listing.', match: /^\/events/ },
  { name: 'admin', description: 'The organiser: Authorization: Bearer <ADMIN_TOKEN>.', match: /^\/admin/ },
  { name: 'operations', description: 'Health, readiness and Prometheus metrics.', match: /^\/(healthz|readyz|metrics)$/ },
];

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'boxoffice',
        version: '0.1.0',
        description:
          'Queue-based ticket reservation. A buyer joins the line of a ticket type and gets a secret queue token; ' +
          'the server admits buyers in join order and gives each a hold that must be confirmed before it runs out. ' +
          'Every error answers `{"error": {"code", "message"}}` with a stable snake_case code.',
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'The server\'s ADMIN_TOKEN, as "Authorization: Bearer <ADMIN_TOKEN>".' },
        },
      },
      tags: TAGS.map(({ name, description }) => ({ name, description })),
    },
    // Shared schemas keep their $id as their name in components.schemas (ErrorBody, not def-0).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform: ({ schema, url }) => {
      if (!schema || schema.hide) return { schema, url };
      const response = (schema.response ?? {}) as Record<string, unknown>;
      const tags = schema.tags ?? TAGS.filter((t) => t.match.test(url)).map((t) => t.name);
      return { schema: { ...schema, tags, response: { ...response, 500: response[500] ?? INTERNAL_ERROR } }, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
}
