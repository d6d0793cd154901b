// The buyer's page at `/` and its draw check at `/draw.html`: plain HTML, CSS and JavaScript modules
// from src/web/buyer (and src/web/shared, which the admin page uses too), no build step.
import { dirname } from 'node:path';
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
  // The bot challenge's widget (issue 13), from the altcha package itself: its build without
  // inline styles or workers (the page's Content-Security-Policy allows only this server's files),
  // its stylesheet, and the SHA worker it solves with.
  for (const [prefix, module] of [['/vendor/altcha/', 'altcha/external'], ['/vendor/altcha/workers/', 'altcha/workers/sha']]) {
    await app.register(fastifyStatic, {
      root: dirname(fileURLToPath(import.meta.resolve(module!))),
      prefix,
      wildcard: false,
      decorateReply: false,
    });
  }
};
