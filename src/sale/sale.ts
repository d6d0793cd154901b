// The sale's operations, between the HTTP routes and the stores: join, status, confirm, cancel,
// the organiser's figures, pause and the catalogue. Arguments and results are domain types; a
// failure is a SaleError from the catalogue in src/domain/errors.ts.
import { createHash } from 'node:crypto';
import type { Context } from '../context.ts';
import { claimIdempotencyKey, storeOutcome, type ConfirmOutcome } from '../db/api-keys.ts';
import { createEvent, createTicketType, eventCurrency, getEvent, listEvents, saleTimes } from '../db/catalog.ts';
import { cancelHold, confirmHold, findDeparture, recordExits } from '../db/holds.ts';
import { admittedTokens, changeCapacity, closeSale, lockSale, publishedDraw, updateLifecycle } from '../db/onsale.ts';
import { recordSaleEvents } from '../db/outbox.ts';
import type { Queryable } from '../db/pool.ts';
import { saleFigures } from '../db/sale-figures.ts';
import { userTicketCount } from '../db/user-tickets.ts';
import type { Event, NewEvent, NewTicketType, TicketType, TicketTypeChange, TicketTypeRule } from '../domain/catalog.ts';
import { ENTRY_ID_PURPOSE, entryId } from '../domain/draw.ts';
import {
  alreadyJoined, capacityInUse, eventNotFound, invalidSchedule, noPrequeue, notAHold, quantityTooLarge, saleAlreadyOpen, saleClosed,
  saleNotOpen, ticketTypeNotFound, tokenNotFound, unavailable, userLimitReached,
  apiKeyRequired, checkoutUrlRequired, idempotencyKeyReused, invalidPrice, SaleError, unknownCurrency, wrongEvent, type SaleErrorCode,
} from '../domain/errors.ts';
import { isCurrency, minorUnits, normalizePrice } from '../domain/money.ts';
import { joinWindow, scheduleProblem } from '../domain/onsale.ts';
import { EXPIRING_WITHIN_SECONDS, type TicketTypeStats } from '../domain/figures.ts';
import type { StatusReport } from '../domain/status.ts';
import { tokenTicketType } from '../domain/token.ts';
import { JoinChallenges } from './challenges.ts';
import { LineFigures } from './line-figures.ts';
import { Organiser } from './organiser.ts';
import { loadSigner, type Signer } from './signer.ts';
import { holdReport, pendingReport, recordReport } from './status.ts';
import { TicketTypeCache } from './ticket-types.ts';

export interface JoinRequest {
  userId: string;
  ticketTypeId: number;
  quantity: number;
  /** A solved ALTCHA challenge (the widget's base64 payload), for a ticket type with join_challenge. */
  challenge?: string;
}

export interface Joined {
  token: string;
  ticketTypeId: number;
  quantity: number;
  status: 'pending' | 'prequeue';
  /** In line (pending): 1 = next. */
  position?: number;
  /** The join's public id (docs/fairness.md). */
  entryId: string;
  /** A compact JWS of ReceiptClaims, signed with the deployment's key (/.well-known/jwks.json). */
  receipt: string;
  /** In the pre-queue: when it is drawn, and the draw's commitment. */
  saleStartsAt?: string;
  drawCommitment?: string;
}

/** What a receipt says: the join, its public entry id, and its number in line or the draw it entered. */
export interface ReceiptClaims {
  ticket_type_id: number;
  entry_id: string;
  joined_at: string;
  kind: 'prequeue' | 'line';
  seq?: number;
  commitment?: string;
  [claim: string]: unknown;
}

/** GET /admin/sales: a ticket type's sale, its event, and its pre-queue (none, open, sealed, placed). */
export type SaleOverview = TicketType & {
  event_id: number;
  event_name: string;
  prequeue_entries: number | null;
  draw: 'none' | 'open' | 'sealed' | 'placed';
};

/** GET /ticket-types/:id/draw: the commitment before the draw; everything needed to recompute it after. */
export type DrawView =
  | { state: 'scheduled'; commitment: string; prequeue_opens_at: string; sale_starts_at: string; entries: number }
  | { state: 'drawn'; commitment: string; secret: string; entries_digest: string; seed: string; order: string[] };

export interface JoinHooks {
  /**
   * Runs when the user joined this line before (a repeat, or a return after a hold ended), before
   * anything else is decided: the per-user rate limit, which a first join does not pay for.
   */
  beforeRepeat?: () => Promise<void>;
}

/** A status report, with the token's place in line while pending (live streams derive later positions from it). */
export interface Standing {
  report: StatusReport;
  seq?: number;
  served?: number;
}

export interface Confirmation {
  booking_id: number;
  ticket_type_id: number;
  quantity: number;
}

export class Sale {
  /** Per line figures for waiting buyers, shared by status reads and live streams in this process. */
  readonly figures: LineFigures;
  private readonly ticketTypes: TicketTypeCache;
  private readonly challenges: JoinChallenges;
  /** Derives every join's public entry id (src/domain/draw.ts entryId). */
  private readonly entrySecret: Buffer;
  /** Webhooks, API keys, checkout passes and bookings: what the organiser's systems use. */
  readonly organiser: Organiser;

  constructor(
    private readonly ctx: Pick<Context, 'db' | 'lines' | 'log' | 'config'>,
    /** Signs what buyers and organisers verify; its public key is served at /.well-known/jwks.json. */
    readonly signer: Signer,
  ) {
    this.figures = new LineFigures(ctx.db);
    this.ticketTypes = new TicketTypeCache(ctx.db);
    this.challenges = new JoinChallenges(ctx.lines.redis, ctx.lines.keys.spentChallenge, signer.deriveSecret('boxoffice altcha v1'));
    this.entrySecret = signer.deriveSecret(ENTRY_ID_PURPOSE);
    this.organiser = new Organiser(ctx, signer);
  }

  /** The process's sale service, with the deployment's signing key. */
  static async open(ctx: Pick<Context, 'db' | 'lines' | 'log' | 'config'>): Promise<Sale> {
    return new Sale(ctx, await loadSigner(ctx.db, ctx.config.RECEIPT_SIGNING_KEY));
  }

  /** A ticket type's rules; ticket_type_not_found when there is none. */
  async ticketType(id: number): Promise<TicketTypeRule> {
    const rule = await this.ticketTypes.get(id);
    if (!rule) throw ticketTypeNotFound(id);
    return rule;
  }

  /**
   * Puts a buyer in line (or in the pre-queue, before a scheduled opening) and hands out the token,
   * once: a user already waiting or holding gets already_joined. A returning user (an earlier token
   * ended) is first counted in PostgreSQL against the per-user cap; a first join never waits for
   * PostgreSQL. The sale's times and challenge come from the cached rule, so a first join stays one
   * Redis round trip; whether the pre-queue is still open is decided in Redis, on its clock.
   */
  async join({ userId, ticketTypeId, quantity, challenge }: JoinRequest, hooks: JoinHooks = {}): Promise<Joined> {
    const rule = await this.ticketType(ticketTypeId);
    if (quantity > rule.max_per_order) throw quantityTooLarge(rule.max_per_order);
    const window = joinWindow(rule.sale, Date.now());
    if (window.kind === 'not_open') throw saleNotOpen(new Date(window.opensMs).toISOString());
    if (window.kind === 'closed') throw saleClosed();
    if (rule.join_challenge) await this.challenges.redeem(rule, challenge);
    const prequeueUntilMs = window.kind === 'prequeue' ? window.saleStartsMs : undefined;
    const { lines } = this.ctx;
    let joined = await lines.join(ticketTypeId, { userId, quantity, stopIfReturning: true, prequeueUntilMs });
    if (joined.kind === 'late') throw unavailable('The line');
    if (joined.kind !== 'joined' && joined.kind !== 'prequeued') await hooks.beforeRepeat?.();
    if (joined.kind === 'entered') throw alreadyJoined('waits in the pre-queue of this sale');
    if (joined.kind === 'waiting') throw alreadyJoined(`waits in this line at position ${Math.max(1, joined.position)}`);
    if (joined.kind === 'holding') throw alreadyJoined(`holds tickets of this type until ${joined.holdEndsAt}`);
    if (joined.kind === 'returning') {
      // They have no live token (or the line was purged after its sale, and Redis cannot tell),
      // and the line gives them at most one, so the count cannot grow between this check and the join.
      await this.checkUserCap(rule, userId, quantity);
      joined = await lines.join(ticketTypeId, { userId, quantity, replacing: joined.previousToken, prequeueUntilMs });
      if (joined.kind === 'late') throw unavailable('The line');
      if (joined.kind !== 'joined' && joined.kind !== 'prequeued') throw alreadyJoined('joined this line a moment ago');
    }
    const { token } = joined;
    const id = this.entryId(token);
    const joinedAt = new Date(joined.joinedAtMs).toISOString();
    if (joined.kind === 'prequeued') {
      const commitment = rule.draw_commitment!;
      const receipt = await this.receipt({ ticket_type_id: ticketTypeId, entry_id: id, joined_at: joinedAt, kind: 'prequeue', commitment });
      return {
        token, ticketTypeId, quantity, status: 'prequeue', entryId: id, receipt,
        saleStartsAt: new Date(prequeueUntilMs!).toISOString(), drawCommitment: commitment,
      };
    }
    const receipt = await this.receipt({ ticket_type_id: ticketTypeId, entry_id: id, joined_at: joinedAt, kind: 'line', seq: joined.seq });
    return { token, ticketTypeId, quantity, status: 'pending', position: Math.max(1, joined.position), entryId: id, receipt };
  }

  /** The public id of a join (docs/fairness.md): derived from its token, never stored. */
  entryId(token: string): string {
    return entryId(this.entrySecret, token);
  }

  private receipt(claims: ReceiptClaims): Promise<string> {
    return this.signer.signNow(claims);
  }

  /** A fresh bot challenge for joining a ticket type (whether or not it asks for one now). */
  async challenge(ticketTypeId: number): Promise<object> {
    return this.challenges.create(await this.ticketType(ticketTypeId));
  }

  /** A user may hold or have bought at most max_per_order tickets of a ticket type in all. */
  private async checkUserCap(rule: TicketTypeRule, userId: string, quantity: number): Promise<void> {
    const taken = await userTicketCount(this.ctx.db, rule.id, userId);
    if (taken + quantity > rule.max_per_order) throw userLimitReached(rule.max_per_order, taken);
  }

  /** The status of a token, or undefined when no such token exists. */
  async status(token: string): Promise<StatusReport | undefined> {
    return (await this.standing(token))?.report;
  }

  /**
   * Pending tokens are answered from Redis alone; a live hold from its record, which carries the
   * hold's end; anything else from PostgreSQL, which is the truth.
   */
  async standing(token: string): Promise<Standing | undefined> {
    const ticketTypeId = tokenTicketType(token);
    const line = await this.ctx.lines.readRecord(ticketTypeId, token);
    if (line?.record.state === 'Q') return { report: await this.prequeueReport(ticketTypeId, token, line.record.quantity) };
    if (line?.record.state === 'P') {
      const { seq, quantity } = line.record;
      this.figures.observeServed(ticketTypeId, line.served);
      const remaining = await this.figures.remaining(ticketTypeId);
      return { report: this.pendingReport(ticketTypeId, quantity, seq, line.served, remaining), seq, served: line.served };
    }
    const fromRecord = line && recordReport(ticketTypeId, line.record);
    if (fromRecord) return { report: fromRecord };
    // A hold that ended or ran out, or a line whose keys are gone after its sale (retention).
    const report = await this.departureReport(this.ctx.db, token);
    return report && { report };
  }

  /**
   * What PostgreSQL says of a token that left its line: its hold, or how it left without one (a
   * cancel in line wins over a hold a batch granted meanwhile). Undefined while it is in line.
   */
  private async departureReport(q: Queryable, token: string): Promise<StatusReport | undefined> {
    const departed = await findDeparture(q, token);
    if (!departed) return undefined;
    if ('hold' in departed) return holdReport(departed.hold);
    const { exit } = departed;
    return { status: exit.outcome, ticket_type_id: exit.ticket_type_id, quantity: exit.quantity };
  }

  /** A buyer in the pre-queue: when the draw places them, and how to check it. */
  private async prequeueReport(ticketTypeId: number, token: string, quantity: number): Promise<StatusReport> {
    const rule = await this.ticketType(ticketTypeId);
    const report: StatusReport = { status: 'prequeue', ticket_type_id: ticketTypeId, quantity, entry_id: this.entryId(token) };
    if (rule.sale.saleStartsMs !== undefined) report.sale_starts_at = new Date(rule.sale.saleStartsMs).toISOString();
    if (rule.draw_commitment) report.draw_commitment = rule.draw_commitment;
    return report;
  }

  /** A waiting buyer's report with the line's figures (`remaining` from figures.remaining(), the estimated wait). */
  pendingReport(ticketTypeId: number, quantity: number, seq: number, served: number, remaining: number | undefined): StatusReport {
    const estimatedWait = (position: number) => this.figures.estimatedWait(ticketTypeId, position);
    return pendingReport({ ticketTypeId, quantity, seq, served, remaining, estimatedWait });
  }

  /**
   * Confirms a live hold; a repeat returns the same booking. Committed in PostgreSQL before it
   * returns (I4); Redis is only told afterwards, so a Redis failure costs a stale record, not the
   * booking. A repeat tells Redis again: the first may have committed after its buyer had been
   * told 503, or failed to reach Redis.
   */
  async confirm(token: string): Promise<Confirmation> {
    const rule = await this.ticketTypes.get(tokenTicketType(token));
    if (rule?.confirm_by === 'organiser') throw apiKeyRequired();
    return this.confirmed(token, await this.confirmOutcome(this.ctx.db, token));
  }

  /**
   * The organiser's server confirms after payment, with its API key (scoped to one event) and an
   * Idempotency-Key: the first answer to a key is kept in the confirm's own transaction, so a
   * replay gets it whatever happened since (a booking, or a 409 that says to refund); the same key
   * with another token is refused. Works for buyer-confirmed ticket types of the event too.
   */
  async confirmForOrganiser(apiKey: string, idempotencyKey: string, token: string): Promise<Confirmation> {
    const key = await this.organiser.apiKey(apiKey);
    const rule = await this.ticketTypes.get(tokenTicketType(token));
    if (!rule) throw tokenNotFound();
    if (rule.event_id !== key.event_id) throw wrongEvent();
    const requestHash = createHash('sha256').update(token).digest();
    const outcome = await this.ctx.db.withTransaction(async (client) => {
      const first = await claimIdempotencyKey<Confirmation>(client, key.id, idempotencyKey, requestHash);
      if (first && !first.requestHash.equals(requestHash)) throw idempotencyKeyReused();
      if (first) return first.outcome;
      const fresh = await this.confirmOutcome(client, token);
      await storeOutcome(client, key.id, idempotencyKey, fresh);
      return fresh;
    });
    return this.confirmed(token, outcome);
  }

  /** Confirms on `q` (the pool, or an organiser's transaction): the booking, or why there is none, as data. */
  private async confirmOutcome(q: Queryable, token: string): Promise<ConfirmOutcome<Confirmation>> {
    const hold = await confirmHold(q, token, this.ctx.db.deadline());
    if (hold?.status === 'confirmed') {
      return { ok: { booking_id: hold.booking_id!, ticket_type_id: hold.ticket_type_id, quantity: hold.quantity } };
    }
    // Why not: from PostgreSQL once the token left the line (ran out, or cancelled in line: a hold
    // a batch granted meanwhile is not theirs to confirm), else from the line (still waiting, sold
    // out, unknown). Still live: the statement ran past its deadline and changed nothing; the
    // caller is told 503.
    const report = hold ? await this.departureReport(q, token) : await this.status(token);
    if (report?.status === 'reserved') throw unavailable('PostgreSQL');
    const { code, message } = report ? notAHold(report.status) : tokenNotFound();
    return { error: { code, message } };
  }

  /**
   * A confirm's outcome as its caller sees it: an error is thrown; a booking is told to Redis
   * afterwards (again, for a repeat: the first may have committed after its caller had been told
   * 503, or failed to reach Redis), so a Redis failure costs a stale record, not the booking.
   */
  private async confirmed(token: string, outcome: ConfirmOutcome<Confirmation>): Promise<Confirmation> {
    if ('error' in outcome) throw new SaleError(outcome.error.code as SaleErrorCode, outcome.error.message);
    const booked = outcome.ok;
    await this.ctx.lines.endHolds(booked.ticket_type_id, 'confirmed', [token]).catch((err: Error) =>
      this.ctx.log.warn({ err: err.message, ticketTypeId: booked.ticket_type_id }, 'confirmed; its Redis record shows the hold until it would have ended'),
    );
    return booked;
  }

  /**
   * A pending buyer leaves the line, or a hold's tickets go back on sale at once; a repeat does the
   * same. A buyer who leaves the line is recorded in PostgreSQL before the answer (a repeat records
   * what a crash in between missed), so the token's status outlives the line's Redis keys.
   */
  async cancel(token: string): Promise<void> {
    const ticketTypeId = tokenTicketType(token);
    const inLine = await this.ctx.lines.cancelPending(ticketTypeId, token);
    if (inLine.kind === 'cancelled' || inLine.kind === 'already_cancelled') {
      await recordExits(this.ctx.db, ticketTypeId, 'cancelled', [inLine.who]);
      return;
    }
    if (inLine.kind === 'sold_out') throw notAHold('sold_out');
    if (await cancelHold(this.ctx.db, token)) {
      await this.ctx.lines.endHolds(ticketTypeId, 'cancelled', [token]);
      return;
    }
    const departed = await findDeparture(this.ctx.db, token);
    if (!departed) throw tokenNotFound();
    const status = 'hold' in departed ? holdReport(departed.hold).status : departed.exit.outcome;
    if (status !== 'cancelled') throw notAHold(status);
  }

  /** Every ticket type's stock and holds (PostgreSQL) beside its line (Redis). */
  async stats(): Promise<TicketTypeStats[]> {
    const stock = await saleFigures(this.ctx.db, EXPIRING_WITHIN_SECONDS);
    const lines = await this.ctx.lines.progress(stock.map((t) => t.id));
    return stock.map((t, i) => ({ ...t, ...lines[i]! }));
  }

  async pause(ticketTypeId: number): Promise<void> {
    await this.ticketType(ticketTypeId);
    await this.ctx.lines.pause(ticketTypeId);
  }

  async resume(ticketTypeId: number): Promise<void> {
    await this.ticketType(ticketTypeId);
    await this.ctx.lines.resume(ticketTypeId);
  }

  events(): Promise<Event[]> {
    return listEvents(this.ctx.db);
  }

  async event(id: number): Promise<Event> {
    const event = await getEvent(this.ctx.db, id);
    if (!event) throw eventNotFound(id);
    return event;
  }

  /** An event priced in its own currency, or in DEFAULT_CURRENCY. */
  createEvent(event: NewEvent): Promise<Event> {
    const currency = event.currency ?? this.ctx.config.DEFAULT_CURRENCY;
    if (!isCurrency(currency)) throw unknownCurrency(currency);
    return createEvent(this.ctx.db, { ...event, currency });
  }

  /**
   * A new ticket type of an event, its whole capacity available at once (or from its scheduled
   * opening), its price written in the minor units of the event's currency. A sale on at once has
   * its sale.opened event in the same transaction; a scheduled one gets it when it opens.
   */
  async addTicketType(eventId: number, ticketType: NewTicketType): Promise<TicketType> {
    const { prequeue_opens_at: p = null, sale_starts_at: s = null, sale_ends_at: e = null } = ticketType;
    const problem = scheduleProblem(saleTimes({ prequeue_opens_at: p, sale_starts_at: s, sale_ends_at: e, closed: false }));
    if (problem) throw invalidSchedule(problem);
    const currency = await eventCurrency(this.ctx.db, eventId);
    if (!currency) throw eventNotFound(eventId);
    const price = normalizePrice(ticketType.price, currency);
    if (price === undefined) throw invalidPrice(ticketType.price, currency, minorUnits(currency));
    if (ticketType.confirm_by === 'organiser' && !ticketType.checkout_url) throw checkoutUrlRequired();
    const created = await this.ctx.db.withTransaction(async (client) => {
      const made = await createTicketType(client, eventId, { ...ticketType, price });
      if (made?.state === 'on_sale') await recordSaleEvents(client, 'sale.opened', [{ ticketTypeId: made.id, reason: 'created' }]);
      return made;
    });
    if (!created) throw eventNotFound(eventId);
    return created;
  }

  /**
   * The organiser changes a sale: its schedule (only before it opens; the pre-queue's opening only
   * before that opens), its end, its challenge, its capacity (the difference is added to or
   * withdrawn from the stock available now) or closes it, in one transaction. Added stock admits
   * the next buyers at once; withdrawn stock may tell the head of the line sold_out. A buyer told
   * sold_out stays told: that decision is never revisited.
   */
  async changeTicketType(id: number, change: TicketTypeChange): Promise<TicketType> {
    const now = Date.now();
    const changed = await this.ctx.db.withTransaction(async (client) => {
      const locked = await lockSale(client, id);
      if (!locked) throw ticketTypeNotFound(id);
      const current = locked.ticketType;
      const scheduling = change.prequeue_opens_at !== undefined || change.sale_starts_at !== undefined;
      if (current.state === 'closed' && (scheduling || change.sale_ends_at !== undefined)) throw saleClosed();
      if (scheduling) {
        const startsMs = instantMs(current.sale_starts_at);
        if (locked.opened || startsMs === undefined || startsMs <= now) throw saleAlreadyOpen('The sale\'s schedule');
        const prequeueMs = instantMs(current.prequeue_opens_at);
        if (prequeueMs !== undefined && prequeueMs <= now && change.prequeue_opens_at !== undefined
          && instantMs(change.prequeue_opens_at) !== prequeueMs) throw saleAlreadyOpen('The pre-queue\'s opening');
      }
      const problem = scheduleProblem(saleTimes({ ...current, ...nullTimes(change), closed: false }));
      if (problem) throw invalidSchedule(problem);
      await updateLifecycle(client, id, change, locked.hasSecret);
      if (change.capacity !== undefined && !(await changeCapacity(client, id, change.capacity))) throw capacityInUse(locked.sold);
      if (change.close) await closeSale(client, id, 'closed_early');
      return (await lockSale(client, id))!.ticketType;
    });
    this.ticketTypes.forget(id);
    this.figures.invalidate(id);
    if (change.capacity !== undefined) await this.ctx.lines.wake(id);
    return changed;
  }

  /** GET /ticket-types/:id/draw: the commitment before the draw, the secret, digest, seed and order after it. */
  async draw(id: number): Promise<DrawView> {
    const published = await publishedDraw(this.ctx.db, id);
    if (!published) {
      await this.ticketType(id);
      throw noPrequeue(id);
    }
    const { commitment, drawn } = published;
    if (!drawn) {
      const progress = await this.ctx.lines.drawProgress(id);
      const entries = progress.state ? progress.entries : await this.ctx.lines.prequeueLength(id);
      return { state: 'scheduled', commitment, prequeue_opens_at: published.prequeue_opens_at, sale_starts_at: published.sale_starts_at, entries };
    }
    const order: string[] = [];
    for (let at = 0; at < drawn.order.length; at += 16) order.push(drawn.order.toString('hex', at, at + 16));
    return { state: 'drawn', commitment, secret: drawn.secret.toString('hex'), entries_digest: drawn.entriesDigest, seed: drawn.seed, order };
  }

  /** Every ticket type's sale for the organiser: its state and times, and its pre-queue (entries, draw). */
  async sales(): Promise<SaleOverview[]> {
    const types = (await listEvents(this.ctx.db)).flatMap((e) => e.ticket_types.map((t) => ({ ...t, event_id: e.id, event_name: e.name })));
    return Promise.all(types.map(async (t) => {
      if (!t.prequeue_opens_at) return { ...t, prequeue_entries: null, draw: 'none' as const };
      const progress = await this.ctx.lines.drawProgress(t.id);
      const entries = progress.state ? progress.entries : await this.ctx.lines.prequeueLength(t.id);
      return { ...t, prequeue_entries: entries, draw: progress.state ?? ('open' as const) };
    }));
  }

  /** The entry ids of the buyers admitted (given a hold), in the order of admission, `limit` from `offset`. */
  async admissions(id: number, offset: number, limit: number): Promise<string[]> {
    await this.ticketType(id);
    return (await admittedTokens(this.ctx.db, id, offset, limit)).map((token) => this.entryId(token));
  }
}

const instantMs = (iso: string | null | undefined) => (iso ? Date.parse(iso) : undefined);

/** The lifecycle times given (absent ones left out), as the listing's nullable strings. */
function nullTimes(t: Pick<TicketTypeChange, 'prequeue_opens_at' | 'sale_starts_at' | 'sale_ends_at'>) {
  const times: Partial<Record<'prequeue_opens_at' | 'sale_starts_at' | 'sale_ends_at', string | null>> = {};
  for (const key of ['prequeue_opens_at', 'sale_starts_at', 'sale_ends_at'] as const) if (t[key] !== undefined) times[key] = t[key];
  return times;
}
