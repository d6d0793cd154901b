// Webhooks as the organiser sees them: the event types, the endpoints they register, the delivery
// log, and the retry schedule. One schema each; the TypeScript types derive from them.
import { Type, type Static } from 'typebox';
import { Id } from './status.ts';

export const WEBHOOK_EVENT_TYPES = [
  'hold.granted', 'hold.expired', 'hold.cancelled', 'booking.confirmed', 'line.sold_out', 'sale.opened', 'sale.closed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhookEventTypeName = Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)));

/** An absolute http(s) URL, as registered endpoints and checkout pages are given. */
export const HttpUrl = Type.String({ format: 'uri', pattern: '^https?://[^\\s]+$', maxLength: 2_000 });

export const NewWebhook = Type.Object(
  {
    url: HttpUrl,
    events: Type.Array(WebhookEventTypeName, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type NewWebhook = Static<typeof NewWebhook>;

export const Webhook = Type.Object({
  id: Id,
  url: Type.String(),
  events: Type.Array(WebhookEventTypeName),
  created_at: Type.String({ format: 'date-time' }),
});
export type Webhook = Static<typeof Webhook>;

export const CreatedWebhook = Type.Evaluate(Type.Intersect([
  Webhook,
  Type.Object({ secret: Type.String({ description: 'whsec_<base64>: verifies the webhook-signature header. Shown only in this answer.' }) }),
]));
export type CreatedWebhook = Static<typeof CreatedWebhook>;

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')], {
  description: 'pending: not delivered yet (retries go on); delivered: the endpoint answered 2xx; failed: retries gave up.',
});
export type DeliveryStatus = Static<typeof DeliveryStatus>;

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const Delivery = Type.Object({
  id: Id,
  message_id: Type.String({ description: 'The event id (webhook-id): the same for every endpoint and every attempt.' }),
  endpoint_id: Id,
  url: Type.String(),
  event_type: WebhookEventTypeName,
  status: DeliveryStatus,
  attempts: Type.Integer(),
  in_flight: Type.Boolean({ description: 'A dispatcher is delivering it right now.' }),
  created_at: Type.String({ format: 'date-time' }),
  last_attempt_at: Time,
  next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'While pending: when it is tried next.' }),
  last_status: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status of the last answer.' }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  delivered_at: Time,
});
export type Delivery = Static<typeof Delivery>;

/** A single wait between two attempts never exceeds this, however many attempts failed. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/**
 * How long to wait after the `attempts`-th attempt failed: `baseMs` doubled for each failure
 * before it, at most an hour, with equal jitter (a random point in the second half), so that the
 * deliveries an outage failed together do not all come back at the same instant.
 */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(full / 2 + (random() * full) / 2);
}
