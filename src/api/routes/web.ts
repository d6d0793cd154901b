// The buyer's page at `/`: plain HTML, CSS and JavaScript modules from src/web/buyer, no build step.
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export const webRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../../web/buyer/', import.meta.url)),
    // Routes for the files present at start only: every other path stays the API's JSON 404.
    wildcard: false,
  });
};
