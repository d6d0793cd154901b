// GET /queue/stream: a token's status as Server-Sent Events, pushed on every change of state and
// when the position changes (at most once a second), until a terminal state ends the stream.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { tokenNotFound, unavailable } from '../../domain/errors.ts';
import type { RouteDeps } from '../deps.ts';
import { overloaded, tooManyStreams } from '../errors.ts';
import { LiveLines } from '../live-lines.ts';
import { eventId } from '../stream-events.ts';
import { errors, TokenQuery } from '../schemas/common.ts';

export const streamRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  const live = new LiveLines(ctx, sale);
  // preClose, not onClose: the server waits for open connections before onClose hooks run.
  app.addHook('preClose', async () => live.close());
  const streams = new StreamCount(ctx.config.STREAM_LIMIT, ctx.config.STREAM_LIMIT_PER_IP);

  app.get('/queue/stream', {
    config: { longLived: true },
    schema: {
      summary: "A token's status, pushed live",
      description:
        'text/event-stream. Each event is the status object of GET /reservation/status: one at once, then one on every '
        + 'change of state and when the position changes (at most once a second); comment lines every 15 s keep the '
        + 'connection open. The stream ends after confirmed, expired, cancelled or sold_out. Event ids let a reconnecting '
        + 'client (Last-Event-ID) skip what it has; a client that already has the final event gets 204. '
        + 'Too many streams from one address: 429 too_many_streams; a full server: 503 overloaded (both with Retry-After).',
      querystring: TokenQuery,
      response: {
        200: { description: 'An event stream', content: { 'text/event-stream': { schema: Type.String() } } },
        204: Type.Null({ description: 'The client already has the final event: nothing more will come.' }),
        ...errors(400, 404, 429, 503),
      },
    },
  }, async (req, reply) => {
    const release = streams.open(req.ip);
    try {
      const client = await live.watch(req.query.token);
      if (!client) throw tokenNotFound();
      // The server began to shut down while this client was reading its status.
      if (client.closed) throw unavailable('The live stream');
      const lastEventId = req.headers['last-event-id'];
      if (client.terminal && lastEventId === eventId(client.report!)) {
        live.drop(client);
        release();
        return reply.code(204).send(null);
      }
      reply.hijack();
      reply.raw.once('close', release);
      client.attach(reply.raw, typeof lastEventId === 'string' ? lastEventId : undefined);
    } catch (err) {
      release();
      throw err;
    }
  });
};

/**
 * The open streams of this process, in all and per client address: each holds a socket and a
 * little memory for as long as the buyer waits, so both are bounded (STREAM_LIMIT, STREAM_LIMIT_PER_IP).
 */
class StreamCount {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts a stream from `address`, or refuses it; the function returned ends the count (once). */
  open(address: string): () => void {
    if (this.total >= this.max) throw overloaded('This server carries as many live streams as it can');
    const mine = this.byAddress.get(address) ?? 0;
    if (mine >= this.maxPerAddress) throw tooManyStreams();
    this.total++;
    this.byAddress.set(address, mine + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.total--;
      const left = this.byAddress.get(address)! - 1;
      if (left) this.byAddress.set(address, left);
      else this.byAddress.delete(address);
    };
  }
}
