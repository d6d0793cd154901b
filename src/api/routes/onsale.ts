// Scheduled on-sale (issue 13): the draw anyone can check, the admissions list, the bot challenge,
// and the organiser's changes to a sale (lifecycle, capacity, early close) with its overview.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TicketType, TicketTypeChange } from '../../domain/catalog.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, IdParams } from '../schemas/common.ts';

const Hex = (bytes: number, description: string) => Type.String({ pattern: `^[0-9a-f]{${bytes * 2}}$`, description });
const EntryId = Hex(16, 'An entry id: 128 bits, lowercase hex.');

const DrawView = Type.Union([
  Type.Object({
    state: Type.Literal('scheduled'),
    commitment: Hex(32, 'C = hex(SHA-256(S)), fixed before the first entry.'),
    prequeue_opens_at: Type.String({ format: 'date-time' }),
    sale_starts_at: Type.String({ format: 'date-time' }),
    entries: Type.Integer({ description: 'Entries in the pre-queue so far.' }),
  }),
  Type.Object({
    state: Type.Literal('drawn'),
    commitment: Hex(32, 'C = hex(SHA-256(S)).'),
    secret: Hex(32, 'S, published once drawn.'),
    entries_digest: Hex(32, 'D = hex(SHA-256(the entry ids sorted ascending, joined by "\\n")).'),
    seed: Hex(32, 'hex(HMAC-SHA256(key = S, message = D)).'),
    order: Type.Array(EntryId, { description: 'Every entry id in draw order: ascending hex(HMAC-SHA256(key = seed, message = entry_id)).' }),
  }),
]);

const Admissions = Type.Object({
  ticket_type_id: Id,
  admissions: Type.Array(EntryId, { description: 'The entry ids of the buyers given a hold, in the order they were admitted, from `offset` on.' }),
  next_offset: Type.Optional(Type.Integer({ description: 'Present when more follow: ask again with this offset.' })),
});

// An entry id is derived per hold row (an HMAC): a page bounds the work one request does.
const ADMISSIONS_PAGE = 10_000;
// Query values stay strings (the app's validator does not coerce types), like the ids in paths.
const AdmissionsQuery = Type.Object({
  offset: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,8})$', description: 'Admissions to skip (default 0).' })),
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$|^10000$', description: `At most this many (default and maximum ${ADMISSIONS_PAGE}).` })),
}, { additionalProperties: false });

// A drawn draw never changes: its JSON (36 bytes an entry, 36 MB for a million) is built once per
// process and kept for the few most recent, instead of rebuilding it on every request.
const DRAWN_BODIES_KEPT = 4;

const SaleOverview = Type.Intersect([TicketType, Type.Object({
  event_id: Id,
  event_name: Type.String(),
  prequeue_entries: Type.Union([Type.Integer(), Type.Null()], { description: 'Entries in the pre-queue; null without one.' }),
  draw: Type.Union([Type.Literal('none'), Type.Literal('open'), Type.Literal('sealed'), Type.Literal('placed')], {
    description: 'none (no pre-queue), open (taking entries), sealed (drawn at the opening, being placed in line), placed.',
  }),
})]);

export const onsaleRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { sale }) => {
  const tags = ['events'];
  const drawnBodies = new Map<number, string>();

  app.get('/ticket-types/:id/draw', {
    schema: {
      summary: "A pre-queue's draw, to check",
      description: 'Before the draw: the commitment and the count of entries. After it: the secret, the digest of the entries, the seed and '
        + 'the order, from which anyone recomputes the draw (docs/fairness.md; npm run verify-draw). 404 no_prequeue for a ticket type without one.',
      tags,
      params: IdParams,
      response: { 200: DrawView, ...errors(400, 404, 503) },
    },
  }, async (req, reply) => {
    const id = Number(req.params.id);
    let body = drawnBodies.get(id);
    if (!body) {
      const view = await sale.draw(id);
      if (view.state !== 'drawn') return view;
      body = JSON.stringify(view);
      drawnBodies.set(id, body);
      if (drawnBodies.size > DRAWN_BODIES_KEPT) drawnBodies.delete(drawnBodies.keys().next().value!);
    }
    // A string payload is sent as it is (Fastify serializes only objects): the JSON built above.
    return reply.type('application/json; charset=utf-8').send(body as never);
  });

  app.get('/ticket-types/:id/admissions', {
    schema: {
      summary: 'Who was admitted, in order',
      description: 'The entry ids of every buyer given a hold, in the order of admission: with a receipt, a buyer checks that nobody who joined '
        + '(or was drawn) after them was admitted before them, except a buyer whose quantity did not fit what was left.',
      tags,
      params: IdParams,
      querystring: AdmissionsQuery,
      response: { 200: Admissions, ...errors(400, 404, 503) },
    },
  }, async (req) => {
    const id = Number(req.params.id);
    const offset = Number(req.query.offset ?? 0);
    const limit = Number(req.query.limit ?? ADMISSIONS_PAGE);
    const admissions = await sale.admissions(id, offset, limit + 1);
    const more = admissions.length > limit;
    return { ticket_type_id: id, admissions: admissions.slice(0, limit), ...(more ? { next_offset: offset + limit } : {}) };
  });

  app.get('/ticket-types/:id/challenge', {
    schema: {
      summary: 'A bot challenge to solve before joining',
      description: 'An ALTCHA challenge (the widget fetches it) for a ticket type with join_challenge; its solution is accepted once.',
      tags,
      params: IdParams,
      response: { 200: Type.Object({}, { additionalProperties: true }), ...errors(400, 404, 503) },
    },
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return sale.challenge(Number(req.params.id));
  });
};

export const adminOnsaleRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];

  app.get('/admin/sales', {
    schema: {
      summary: 'Every sale: state, times, pre-queue and draw',
      security,
      response: { 200: Type.Array(SaleOverview), ...errors(401, 403, 503) },
    },
  }, () => sale.sales());

  app.patch('/admin/ticket-types/:id', {
    schema: {
      summary: "Change a sale: schedule, capacity, challenge, early close",
      description: 'prequeue_opens_at and sale_starts_at change only before the sale opens (409 sale_already_open), and the pre-queue\'s '
        + 'opening only before it opens; null clears a time. capacity adds or withdraws unsold stock (409 capacity_in_use below what is held '
        + 'or sold); added stock admits the next buyers at once. close: true closes the sale now (joins get sale_closed; buyers already in '
        + 'line keep their place). Other processes see the new times within 5 seconds (their rule cache).',
      security,
      params: IdParams,
      body: TicketTypeChange,
      response: { 200: TicketType, ...errors(400, 401, 403, 404, 409, 503) },
    },
  }, async (req) => {
    const changed = await sale.changeTicketType(Number(req.params.id), req.body);
    req.log.info({ ticketTypeId: changed.id, change: Object.keys(req.body) }, 'sale changed');
    return changed;
  });
};
