// Delivers the webhook outbox (DESIGN.md, "Telling the organiser"): claims due deliveries, sends
// each as a Standard Webhooks request (signed; webhook-id stable across retries), records the
// result, and retries failures with exponential backoff and jitter for WEBHOOK_RETRY_WINDOW_SECONDS.
// Every worker runs one; they share the outbox through the claim (src/db/webhooks.ts). It has a
// small PostgreSQL pool of its own and sends nothing but what is claimed, so a slow or dead
// endpoint costs admission nothing: the events were written by the changes' own statements.
import { Webhook } from 'standardwebhooks';
import type { Context } from '../context.ts';
import { pruneIdempotencyKeys } from '../db/api-keys.ts';
import { claimDeliveries, markDelivered, markFailed, nextDue, pruneDeliveries, type ClaimedDelivery } from '../db/webhooks.ts';
import { retryDelayMs, type DeliveryStatus } from '../domain/webhooks.ts';

// The longest sleep while nothing is due: a new event waits at most this long to be sent.
const POLL_MS = 500;
// The shortest: an endpoint with due deliveries that already has its share in flight is not
// asked for again in a tight loop (a finished delivery wakes the loop anyway).
const MIN_SLEEP_MS = 20;
// A claim outlives the request's timeout by this much: the time to sign, send and record.
const LEASE_MARGIN_MS = 2_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Delivered and failed deliveries stay in the log this long. */
const KEEP_DELIVERIES_DAYS = 30;
/** An organiser's Idempotency-Key is answered from its first use for this long. */
const KEEP_IDEMPOTENCY_HOURS = 24;
// What the log keeps of an endpoint's error answer.
const ERROR_BODY_CHARS = 200;
// Successes are recorded together, one statement for those that finished within this long: a
// statement per delivery made PostgreSQL, not the endpoint, the dispatcher's limit.
const RECORD_EVERY_MS = 10;

export interface DeliveryReport {
  deliveryId: number;
  messageId: string;
  endpointId: number;
  attempt: number;
  /** The endpoint's HTTP status, when it answered. */
  status: number | null;
  error?: string;
  /** What the delivery was left as; 'lost' when another dispatcher owns it by then (its lease had passed). */
  left: DeliveryStatus | 'lost';
}

export class WebhookDispatcher {
  /** Every attempt until its result is recorded (stop() waits for them). */
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Requests awaiting their answer, in all and per endpoint: the slots WEBHOOK_CONCURRENCY bounds. */
  private sending = 0;
  private readonly perEndpoint = new Map<number, number>();
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private successes: { delivery: ClaimedDelivery; status: number }[] = [];
  private recording?: Promise<Set<number>>;

  constructor(
    private readonly ctx: Pick<Context, 'db' | 'config' | 'log'>,
    private readonly onDelivery: (report: DeliveryReport) => void = () => undefined,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops claiming and waits for the requests in flight (each ends by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight.values());
  }

  private get concurrency(): number {
    return this.ctx.config.WEBHOOK_CONCURRENCY;
  }

  /** At most this many requests to one endpoint at once, so that a slow one cannot hold every slot. */
  private get perEndpointLimit(): number {
    return Math.max(1, Math.floor(this.concurrency / 2));
  }

  private async run(): Promise<void> {
    let pruneAt = 0;
    while (!this.stopped) {
      let sleep = POLL_MS;
      try {
        if (Date.now() >= pruneAt) {
          await this.prune();
          pruneAt = Date.now() + PRUNE_EVERY_MS;
        }
        const free = this.concurrency - this.sending;
        if (free > 0) {
          const busy = [...this.perEndpoint].filter(([, n]) => n >= this.perEndpointLimit).map(([id]) => id);
          const claimed = await claimDeliveries(this.ctx.db, free, this.perEndpointLimit, busy,
            this.ctx.config.WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS);
          for (const d of claimed) this.send(d);
          if (claimed.length === free) continue; // more may be due: claim again (or wait for a slot)
          // Some were claimed: the endpoints' shares are in flight, and their answers wake the loop.
          if (!claimed.length) {
            const next = await nextDue(this.ctx.db);
            sleep = next ? Math.min(POLL_MS, Math.max(MIN_SLEEP_MS, next.getTime() - Date.now())) : POLL_MS;
          }
        }
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message }, 'webhook dispatcher: claim failed; trying again shortly');
      }
      await this.idle(sleep);
    }
  }

  /** Sleeps up to `ms`; an answered request (a slot is free) or stop() ends it sooner. */
  private idle(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /**
   * One attempt: the request, then its result recorded (fenced by the attempt number). The slot is
   * free once the answer is in: until its result is recorded the row's lease keeps it from
   * everybody else.
   */
  private send(d: ClaimedDelivery): void {
    this.sending++;
    this.perEndpoint.set(d.endpoint_id, (this.perEndpoint.get(d.endpoint_id) ?? 0) + 1);
    const answered = this.request(d).finally(() => {
      this.sending--;
      const left = this.perEndpoint.get(d.endpoint_id)! - 1;
      if (left) this.perEndpoint.set(d.endpoint_id, left);
      else this.perEndpoint.delete(d.endpoint_id);
      this.wake?.();
    });
    const delivery = answered
      .then((answer) => this.record(d, answer))
      .then((report) => this.onDelivery(report))
      .catch((err: Error) =>
        // The result could not be recorded (PostgreSQL): the claim's lease passes and it is sent again.
        this.ctx.log.warn({ err: err.message, deliveryId: d.id }, 'webhook delivery not recorded; it will be sent again'))
      .finally(() => this.inFlight.delete(d.id));
    this.inFlight.set(d.id, delivery);
  }

  private async record(d: ClaimedDelivery, { status, error }: { status: number | null; error?: string }): Promise<DeliveryReport> {
    const { config, db, log } = this.ctx;
    const report: DeliveryReport = { deliveryId: d.id, messageId: d.message_id, endpointId: d.endpoint_id, attempt: d.attempts, status, left: 'lost' };
    if (error === undefined) {
      if ((await this.recordSuccess(d, status!)).has(d.id)) report.left = 'delivered';
    } else {
      report.error = error;
      const delay = retryDelayMs(d.attempts, config.WEBHOOK_RETRY_BASE_MS);
      report.left = (await markFailed(db, d, status, error, delay, config.WEBHOOK_RETRY_WINDOW_SECONDS)) ?? 'lost';
      const context = { deliveryId: d.id, endpointId: d.endpoint_id, attempt: d.attempts, error };
      if (report.left === 'failed') log.warn(context, 'webhook delivery failed for good: retries gave up');
      else log.info({ ...context, retryInMs: delay }, 'webhook delivery failed; retrying');
    }
    return report;
  }

  /**
   * POSTs the payload to the registered URL, and nowhere else: a redirect is an error (it is not
   * followed), and so is no answer within WEBHOOK_TIMEOUT_MS. The timestamp is the attempt's, as
   * Standard Webhooks verifiers expect (they refuse old ones); the id and the body stay the same.
   */
  private async request(d: ClaimedDelivery): Promise<{ status: number | null; error?: string }> {
    const timeoutMs = this.ctx.config.WEBHOOK_TIMEOUT_MS;
    const timestamp = new Date();
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'boxoffice-webhooks',
          'webhook-id': d.message_id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': new Webhook(d.secret).sign(d.message_id, timestamp, d.payload),
        },
        body: d.payload,
      });
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel();
        return { status: res.status };
      }
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        return { status: res.status, error: `redirect to ${res.headers.get('location') ?? '?'} not followed: register the final URL` };
      }
      return { status: res.status, error: `HTTP ${res.status}${await bodyStart(res)}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') return { status: null, error: `no answer within ${timeoutMs} ms` };
      return { status: null, error: `request failed: ${e.cause?.code ?? e.cause?.message ?? e.message}` };
    }
  }

  /** Records a success with the others of the next few milliseconds; resolves with the ids recorded. */
  private recordSuccess(delivery: ClaimedDelivery, status: number): Promise<Set<number>> {
    this.successes.push({ delivery, status });
    this.recording ??= new Promise<void>((resolve) => setTimeout(resolve, RECORD_EVERY_MS)).then(() => {
      const batch = this.successes;
      this.successes = [];
      this.recording = undefined;
      return markDelivered(this.ctx.db, batch);
    });
    return this.recording;
  }

  private async prune(): Promise<void> {
    const deliveries = await pruneDeliveries(this.ctx.db, KEEP_DELIVERIES_DAYS);
    const keys = await pruneIdempotencyKeys(this.ctx.db, KEEP_IDEMPOTENCY_HOURS);
    if (deliveries || keys) this.ctx.log.info({ deliveries, idempotencyKeys: keys }, 'old webhook deliveries and idempotency keys removed');
  }
}

/** The start of an error answer's body, for the log: never more than a few hundred bytes read. */
async function bodyStart(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  try {
    const { value } = await reader.read();
    const text = value ? new TextDecoder().decode(value).slice(0, ERROR_BODY_CHARS).trim() : '';
    return text ? `: ${text}` : '';
  } catch {
    return '';
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
