// GET /.well-known/jwks.json: the public key that signs receipts and passes (RFC 7517), so that
// anyone can check what boxoffice signed.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Jwks } from '../../sale/signer.ts';
import type { RouteDeps } from '../deps.ts';

export const wellKnownRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { sale }) => {
  app.get('/.well-known/jwks.json', {
    schema: {
      summary: 'The public signing key (JWKS)',
      description: 'Ed25519 (EdDSA): receipts of joins and organiser passes are compact JWS signed with it; the kid names it.',
      tags: ['operations'],
      response: { 200: Jwks },
    },
  }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return sale.signer.jwks;
  });
};
