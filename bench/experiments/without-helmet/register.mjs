// Preload (NODE_OPTIONS=--import <this file>) that swaps @fastify/helmet for a plugin doing nothing,
// so that a server under test runs without it and src/ stays untouched.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
