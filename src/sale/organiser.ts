// The organiser's integration (issue 14), between the admin routes and the stores: webhook
// endpoints and their delivery log, API keys, the checkout pass a buyer takes to the organiser's
// payment page, and the bookings of an event. The organiser's confirm itself is Sale's
// confirmForOrganiser, beside the buyer's.
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Context } from '../context.ts';
import { findLiveApiKey, insertApiKey, listApiKeys, revokeApiKey } from '../db/api-keys.ts';
import { bookingsPage, streamBookings } from '../db/bookings.ts';
import { eventCurrency } from '../db/catalog.ts';
import { findCheckoutHold } from '../db/checkout.ts';
import { deleteEndpoint, insertEndpoint, listDeliveries, listEndpoints, retryDelivery, type DeliveryFilter } from '../db/webhooks.ts';
import { deliveryInFlight, eventNotFound, invalidApiKey, noCheckout, notAHold, notFound, tokenNotFound } from '../domain/errors.ts';
import { API_KEY_PREFIX, type ApiKey, type Booking, type CheckoutClaims, type CheckoutPass, type CreatedApiKey, type NewApiKey } from '../domain/organiser.ts';
import type { CreatedWebhook, Delivery, NewWebhook, Webhook } from '../domain/webhooks.ts';
import type { Signer } from './signer.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A page of a list and the cursor of the next one (null on the last page). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export class Organiser {
  constructor(
    private readonly ctx: Pick<Context, 'db' | 'config'>,
    private readonly signer: Signer,
  ) {}

  // ---- webhook endpoints and deliveries

  /** Registers an endpoint; its signing secret (Standard Webhooks' whsec_ form, 32 random bytes) is in this answer only. */
  async createWebhook({ url, events }: NewWebhook): Promise<CreatedWebhook> {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    return { ...(await insertEndpoint(this.ctx.db, url, events, secret)), secret };
  }

  webhooks(): Promise<Webhook[]> {
    return listEndpoints(this.ctx.db);
  }

  async deleteWebhook(id: number): Promise<void> {
    if (!(await deleteEndpoint(this.ctx.db, id))) throw notFound(`Webhook endpoint ${id}`);
  }

  async deliveries(filter: DeliveryFilter): Promise<Page<Delivery>> {
    const items = await listDeliveries(this.ctx.db, filter);
    return { items, next_cursor: items.length === filter.limit ? String(items.at(-1)!.id) : null };
  }

  async retryDelivery(id: number): Promise<Delivery> {
    const retried = await retryDelivery(this.ctx.db, id);
    if (retried === 'in_flight') throw deliveryInFlight();
    if (!retried) throw notFound(`Delivery ${id}`);
    return retried;
  }

  // ---- API keys

  /** A new key for one event's server: 256 random bits, shown in this answer only; a SHA-256 of it is kept. */
  async createApiKey({ event_id: eventId, name }: NewApiKey): Promise<CreatedApiKey> {
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const created = await insertApiKey(this.ctx.db, eventId, name, sha256(key), key.slice(0, 12));
    if (!created) throw eventNotFound(eventId);
    return { ...created, key };
  }

  apiKeys(eventId?: number): Promise<ApiKey[]> {
    return listApiKeys(this.ctx.db, eventId);
  }

  async revokeApiKey(id: number): Promise<void> {
    if (!(await revokeApiKey(this.ctx.db, id))) throw notFound(`API key ${id}`);
  }

  /** The live key sent as a bearer token: its id and event; invalid_api_key when unknown or revoked. */
  async apiKey(key: string): Promise<{ id: number; event_id: number }> {
    const found = await findLiveApiKey(this.ctx.db, sha256(key));
    if (!found) throw invalidApiKey();
    return found;
  }

  // ---- the buyer's way to the organiser's checkout

  /**
   * A pass to the organiser's checkout for a live hold of a ticket type the organiser confirms: a
   * JWS of the hold (its token, which the organiser's server confirms with) that expires with the
   * hold, and the checkout URL that carries it.
   */
  async checkoutPass(token: string): Promise<CheckoutPass> {
    const hold = await findCheckoutHold(this.ctx.db, token);
    if (!hold) throw tokenNotFound();
    if (hold.confirm_by !== 'organiser' || !hold.checkout_url) throw noCheckout();
    const secondsLeft = Math.floor((hold.expires_at.getTime() - Date.now()) / 1000);
    if (hold.status !== 'reserved' || secondsLeft <= 0) throw notAHold(hold.status === 'reserved' ? 'expired' : hold.status);
    const claims: CheckoutClaims = {
      purpose: 'checkout', token, hold_id: hold.hold_id, event_id: hold.event_id, ticket_type_id: hold.ticket_type_id,
      user_id: hold.user_id, quantity: hold.quantity, unit_price: hold.unit_price, currency: hold.currency,
    };
    const pass = await this.signer.sign({ ...claims }, secondsLeft);
    const url = new URL(hold.checkout_url);
    url.searchParams.set('pass', pass);
    return { checkout_url: url.toString(), pass, expires_at: hold.expires_at.toISOString() };
  }

  // ---- bookings

  async bookings(eventId: number, after: number, limit: number): Promise<Page<Booking>> {
    await this.requireEvent(eventId);
    const items = await bookingsPage(this.ctx.db, eventId, after, limit);
    return { items, next_cursor: items.length === limit ? String(items.at(-1)!.booking_id) : null };
  }

  /** Every booking of the event as a stream of rows (bounded memory, any size). */
  async bookingStream(eventId: number): Promise<Readable> {
    await this.requireEvent(eventId);
    return streamBookings(this.ctx.db, eventId, this.ctx.config.DATABASE_TIMEOUT_MS);
  }

  private async requireEvent(eventId: number): Promise<void> {
    if (!(await eventCurrency(this.ctx.db, eventId))) throw eventNotFound(eventId);
  }
}
