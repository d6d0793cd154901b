// GET /queue/stream: a token's status as Server-Sent Events, pushed on every change of state and
// when the position changes (at most once a second), until a terminal state ends the stream.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { tokenNotFound, unavailable } from '../../domain/errors.ts';
import type { RouteDeps } from '../deps.ts';
import { LiveLines } from '../live-lines.ts';
import { eventId } from '../stream-events.ts';
import { errors, TokenQuery } from '../schemas/common.ts';

export const streamRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  const live = new LiveLines(ctx, sale);
  // preClose, not onClose: the server waits for open connections before onClose hooks run.
  app.addHook('preClose', async () => live.close());

  app.get('/queue/stream', {
    schema: {
      summary: "A token's status, pushed live",
      description:
        'text/event-stream. Each event is the status object of GET /reservation/status: one at once, then one on every '
        + 'change of state and when the position changes (at most once a second); comment lines every 15 s keep the '
        + 'connection open. The stream ends after confirmed, expired, cancelled or sold_out. Event ids let a reconnecting '
        + 'client (Last-Event-ID) skip what it has; a client that already has the final event gets 204.',
      querystring: TokenQuery,
      response: {
        200: { description: 'An event stream', content: { 'text/event-stream': { schema: Type.String() } } },
        204: Type.Null({ description: 'The client already has the final event: nothing more will come.' }),
        ...errors(400, 404, 503),
      },
    },
  }, async (req, reply) => {
    const client = await live.watch(req.query.token);
    if (!client) throw tokenNotFound();
    // The server began to shut down while this client was reading its status.
    if (client.closed) throw unavailable('The live stream');
    const lastEventId = req.headers['last-event-id'];
    if (client.terminal && lastEventId === eventId(client.report!)) {
      live.drop(client);
      return reply.code(204).send(null);
    }
    reply.hijack();
    client.attach(reply.raw, typeof lastEventId === 'string' ? lastEventId : undefined);
  });
};
