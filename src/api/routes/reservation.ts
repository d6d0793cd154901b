// A token's status, and the buyer's two decisions: confirm or cancel.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cancelHold, confirmHold, findHold } from '../../db/holds.ts';
import { AppError } from '../../domain/errors.ts';
import { tokenTicketType } from '../../domain/token.ts';
import { cancelPending, releaseHolds } from '../../redis/lines.ts';
import type { RouteDeps } from '../deps.ts';
import { errors, Id, StatusBody, TokenBody, TokenQuery } from '../schemas/common.ts';
import { holdStatus, tokenStatus, type StatusView } from '../token-status.ts';

const unknownToken = () => new AppError(404, 'token_not_found', 'No reservation has this token.');

/** Why a token that is not a live hold cannot be confirmed or cancelled. */
function wrongState(view: StatusView): AppError {
  switch (view.status) {
    case 'expired':
      return new AppError(409, 'reservation_expired', 'The hold ran out and its tickets went back on sale; join the line again.');
    case 'cancelled':
      return new AppError(409, 'reservation_cancelled', 'This reservation was cancelled.');
    case 'confirmed':
      return new AppError(409, 'already_confirmed', 'This reservation is confirmed; it can no longer be cancelled.');
    case 'sold_out':
      return new AppError(409, 'not_reserved', 'Tickets sold out before this buyer was admitted.');
    default:
      return new AppError(409, 'not_reserved', 'This buyer is still in line; confirm once the status is reserved.');
  }
}

export const reservationRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ctx }) => {
  app.get('/reservation/status', {
    schema: {
      summary: "A token's status",
      description: 'pending (with position), reserved (with expires_at), confirmed (with booking_id), expired, cancelled or sold_out.',
      querystring: TokenQuery,
      response: { 200: StatusBody, ...errors(400, 404, 503) },
    },
  }, async (req) => {
    const view = await tokenStatus(ctx, req.query.token);
    if (!view) throw unknownToken();
    return view;
  });

  app.post('/reservation/confirm', {
    schema: {
      summary: 'Confirm a hold before it runs out',
      description: 'Books the held tickets. A repeat returns the same booking.',
      body: TokenBody,
      response: {
        200: Type.Object({ status: Type.Literal('confirmed'), booking_id: Id, ticket_type_id: Id, quantity: Type.Integer() }),
        ...errors(400, 404, 409, 503),
      },
    },
  }, async (req) => {
    const { token } = req.body;
    const { hold, confirmedNow } = await confirmHold(ctx.db, token);
    if (!hold) {
      const view = await tokenStatus(ctx, token);
      throw view ? wrongState(view) : unknownToken();
    }
    if (hold.status !== 'confirmed') throw wrongState(holdStatus(hold));
    if (confirmedNow) {
      await releaseHolds(ctx.redis, ctx.keys, hold.ticket_type_id, 'confirmed', [token]).catch((err: Error) =>
        req.log.warn({ err: err.message }, 'confirmed; its Redis record shows the hold until it would have ended'),
      );
    }
    return { status: 'confirmed' as const, booking_id: hold.booking_id!, ticket_type_id: hold.ticket_type_id, quantity: hold.quantity };
  });

  app.post('/reservation/cancel', {
    schema: {
      summary: 'Leave the line, or give a hold back',
      description: "A pending buyer leaves the line; a hold's tickets go back on sale at once. A repeat answers the same.",
      body: TokenBody,
      response: { 200: Type.Object({ status: Type.Literal('cancelled') }), ...errors(400, 404, 409, 503) },
    },
  }, async (req) => {
    const { token } = req.body;
    const ticketTypeId = tokenTicketType(token);
    const state = await cancelPending(ctx.redis, ctx.keys, ticketTypeId, token);
    if (state === 'P' || state === 'C') return { status: 'cancelled' as const };
    if (state === 'S') throw wrongState({ status: 'sold_out', ticket_type_id: ticketTypeId, quantity: 0 });
    if (await cancelHold(ctx.db, token)) {
      await releaseHolds(ctx.redis, ctx.keys, ticketTypeId, 'cancelled', [token]);
      return { status: 'cancelled' as const };
    }
    const hold = await findHold(ctx.db, token);
    if (!hold) throw unknownToken();
    if (hold.status === 'cancelled') return { status: 'cancelled' as const };
    throw wrongState(holdStatus(hold));
  });
};
