// The organiser's dashboard page (src/web/admin/). The page itself is public: it holds no data
// and asks for the admin token, which it sends to the admin API on every call.
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RouteDeps } from '../deps.ts';

const WEB_DIR = new URL('../../web/admin/', import.meta.url);

const ASSETS = {
  '/admin/admin.js': 'text/javascript; charset=utf-8',
  '/admin/admin.css': 'text/css; charset=utf-8',
  '/admin/onsale.js': 'text/javascript; charset=utf-8',
} as const;

export const adminWebRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app) => {
  // Read once: the files are small and ship with the build.
  const page = readFileSync(new URL('index.html', WEB_DIR), 'utf8');

  app.get('/admin', {
    schema: {
      summary: 'The admin dashboard (HTML)',
      description: 'Live lines, stock and holds per ticket type, pause and resume, forms to create events and ticket types.',
      response: { 200: { description: 'The page.', content: { 'text/html': { schema: Type.String() } } } },
    },
  }, async (_req, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
    return page;
  });

  for (const [url, type] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(url.slice('/admin/'.length), WEB_DIR), 'utf8');
    // The page's own script and style: not part of the API.
    app.get(url, { schema: { hide: true } }, (_req, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
};
