// Who bought: an event's bookings as JSON pages and as one CSV file of any size (issue 14).
import { pipeline } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { stringify } from 'csv-stringify';
import { Type } from 'typebox';
import { Booking, BOOKING_COLUMNS } from '../../domain/organiser.ts';
import { adminAuth } from '../admin-auth.ts';
import type { RouteDeps } from '../deps.ts';
import { overloaded } from '../errors.ts';
import { Cursor, errors, IdParams, PageLimit, pageLimit } from '../schemas/common.ts';

// Each export holds a PostgreSQL connection of its own for as long as the download lasts.
const MAX_EXPORTS = 4;

// A cell that a spreadsheet would run as a formula (=, +, -, @, or a leading tab or return) gets
// a leading apostrophe, as OWASP advises for CSV files opened in spreadsheets: user ids are free text.
const neutralise = (value: string) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);

export const adminBookingRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx, sale }) => {
  app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));
  const security = [{ adminToken: [] }];
  const { organiser } = sale;
  let exports = 0;

  app.get('/admin/events/:id/bookings', {
    schema: {
      summary: "An event's bookings, in booking order",
      description: 'Pages of up to limit (default 100, at most 1000): pass next_cursor as after for the next page; null on the last.',
      security,
      params: IdParams,
      querystring: Type.Object({ after: Type.Optional(Cursor), limit: Type.Optional(PageLimit) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ bookings: Type.Array(Booking), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
        ...errors(400, 401, 403, 404, 503),
      },
    },
  }, async (req) => {
    const page = await organiser.bookings(Number(req.params.id), Number(req.query.after ?? 0), pageLimit(req.query.limit));
    return { bookings: page.items, next_cursor: page.next_cursor };
  });

  app.get('/admin/events/:id/bookings.csv', {
    schema: {
      summary: "Every booking of an event, as CSV",
      description: `Streamed (any number of bookings, in bounded memory), with a header row: ${BOOKING_COLUMNS.join(', ')}. `
        + 'A text cell starting with =, +, - or @ is written with a leading apostrophe, so that spreadsheets do not run it.',
      security,
      params: IdParams,
      response: {
        200: { description: 'text/csv, UTF-8.', content: { 'text/csv': { schema: Type.String() } } },
        ...errors(400, 401, 403, 404, 503),
      },
    },
  }, async (req, reply) => {
    const eventId = Number(req.params.id);
    if (exports >= MAX_EXPORTS) throw overloaded('As many booking exports as this server allows are running');
    exports++;
    let counted = true;
    const done = () => {
      if (counted) exports--;
      counted = false;
    };
    try {
      const rows = await organiser.bookingStream(eventId);
      const csv = stringify({ header: true, columns: BOOKING_COLUMNS, cast: { string: neutralise } });
      // An error on either side (PostgreSQL, or the client leaving) ends both and closes the connection.
      pipeline(rows, csv, (err) => {
        done();
        if (err && !reply.raw.destroyed) req.log.warn({ err: err.message, eventId }, 'bookings export ended early');
      });
      reply.header('content-disposition', `attachment; filename="event-${eventId}-bookings.csv"`);
      // The documented string, sent as the stream that produces it: Fastify sends any stream.
      const untyped: FastifyReply = reply;
      return untyped.type('text/csv; charset=utf-8').send(csv);
    } catch (err) {
      done();
      throw err;
    }
  });
};
