// The background work of ROLE=worker (and all): the processor, woken by the lines' sharded wake
// channels, the sweeper, the removal of finished lines' keys, the sale clock, and the delivery of
// webhooks.
import type { Context } from '../context.ts';
import { ENTRY_ID_PURPOSE } from '../domain/draw.ts';
import { listen } from '../db/notifications.ts';
import { createDb } from '../db/pool.ts';
import { createRedis } from '../redis/client.ts';
import { loadSigner } from '../sale/signer.ts';
import { DrawPlacer, type DrawReport } from './draw.ts';
import { Processor, type BatchReport, type RunReport } from './processor.ts';
import { Retention, type PurgeReport } from './retention.ts';
import { SaleClock, type TransitionReport } from './sale-clock.ts';
import { Sweeper, type SweepReport } from './sweeper.ts';
import { WebhookDispatcher, type DeliveryReport } from './webhook-dispatcher.ts';

// The webhook dispatcher's own connections: its claims and results never wait for, or hold, one
// that admission needs.
const DISPATCHER_CONNECTIONS = 2;

export interface EngineHooks {
  onBatch?: (report: BatchReport) => void;
  /** After every run of a line: why the processor stopped looking at it (tests wait on this). */
  onRun?: (report: RunReport) => void;
  /** After every poll of the processor. */
  onPoll?: () => void;
  onSweep?: (report: SweepReport) => void;
  onPurge?: (report: PurgeReport) => void;
  /** A pre-queue was drawn into its line (all of it, by this process). */
  onDraw?: (report: DrawReport) => void;
  /** A scheduled sale opened or closed (this process recorded it). */
  onTransition?: (report: TransitionReport) => void;
  /** After every webhook delivery attempt, once its result is recorded. */
  onDelivery?: (report: DeliveryReport) => void;
}

export interface Engine {
  processor: Processor;
  sweeper: Sweeper;
  dispatcher: WebhookDispatcher;
  stop(): Promise<void>;
}

export async function startEngine(ctx: Context, hooks: EngineHooks = {}): Promise<Engine> {
  // Entry ids are derived from the deployment's signing key, which every process loads alike.
  const signer = await loadSigner(ctx.db, ctx.config.RECEIPT_SIGNING_KEY);
  const placer = new DrawPlacer(ctx, signer.deriveSecret(ENTRY_ID_PURPOSE), hooks.onDraw);
  // One subscriber (one per node on a cluster) for every line's wake channel.
  const subscriber = createRedis(ctx.redisSettings, { subscriber: true });
  subscriber.on('error', (err: Error) => ctx.log.warn({ err: err.message }, 'Redis subscriber error'));
  const processor = new Processor(ctx, {
    // One channel a call: on a cluster, the channels of one SSUBSCRIBE must share a slot.
    listen: async (ids) => void (await Promise.all(ids.map((id) => subscriber.ssubscribe(ctx.keys.line(id).wake)))),
  }, hooks, placer);
  subscriber.on('smessage', (_channel: string, message: string) => processor.wake(Number(message)));
  let connectedBefore = false;
  subscriber.on('ready', () => {
    // ioredis subscribes again by itself; a wake sent meanwhile is lost, so look at every line.
    if (connectedBefore) processor.fullScan().catch((err: Error) => ctx.log.warn({ err: err.message }, 'processor scan failed'));
    connectedBefore = true;
  });
  // On a cluster, after a slot moved or a master failed over, the subscriber listens again on the
  // line's new master; wakes sent meanwhile are lost, as above.
  subscriber.on('subscribersReady', () => {
    if (connectedBefore) processor.fullScan().catch((err: Error) => ctx.log.warn({ err: err.message }, 'processor scan failed'));
  });
  // New ticket types are announced by PostgreSQL (migrations/0006); after a lost connection, the
  // poll finds what was announced meanwhile.
  const catalog = listen(ctx.config.DATABASE_URL, 'boxoffice_ticket_types', ctx.log, {
    onNotify: () => processor.ticketTypeCreated(),
    onReconnect: () => processor.ticketTypeCreated(),
  });
  const sweeper = new Sweeper(ctx, hooks.onSweep);
  const retention = new Retention(ctx, hooks.onPurge);
  const clock = new SaleClock(ctx, (id) => processor.wake(id), hooks.onTransition);
  const dispatcherDb = createDb(ctx.config.DATABASE_URL, ctx.log, { max: DISPATCHER_CONNECTIONS, timeoutMs: ctx.config.DATABASE_TIMEOUT_MS });
  const dispatcher = new WebhookDispatcher({ ...ctx, db: dispatcherDb }, hooks.onDelivery);
  await processor.start();
  sweeper.start();
  retention.start();
  clock.start();
  dispatcher.start();
  return {
    processor,
    sweeper,
    dispatcher,
    async stop() {
      await Promise.all([processor.stop(), sweeper.stop(), retention.stop(), clock.stop(), catalog.close(), dispatcher.stop()]);
      // A second stop() (a test's, then its harness's) finds the pool closed already.
      if (!dispatcherDb.pool.ended) await dispatcherDb.close();
      subscriber.disconnect();
    },
  };
}
