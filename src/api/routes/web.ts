// The buyer's page at `/`: plain HTML, CSS and JavaScript modules from src/web/buyer (and
// src/web/shared, which the admin page uses too), no build step.
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export const webRoutes: FastifyPluginAsync = async (app) => {
  // Routes for the files present at start only: every other path stays the API's JSON 404.
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../../web/buyer/', import.meta.url)),
    wildcard: false,
  });
  // The module both pages import (the admin page's too).
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../../web/shared/', import.meta.url)),
    prefix: '/shared/',
    wildcard: false,
    decorateReply: false,
  });
};
