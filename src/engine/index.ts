// The background work of ROLE=worker (and all): processor and sweeper, woken over Redis pub/sub,
// the removal of finished lines' keys, and the delivery of webhooks.
import type { Context } from '../context.ts';
import { createDb } from '../db/pool.ts';
import { Processor, type BatchReport, type RunReport } from './processor.ts';
import { Retention, type PurgeReport } from './retention.ts';
import { Sweeper, type SweepReport } from './sweeper.ts';
import { WebhookDispatcher, type DeliveryReport } from './webhook-dispatcher.ts';

// The webhook dispatcher's own connections: its claims and results never wait for, or hold, one
// that admission needs.
const DISPATCHER_CONNECTIONS = 2;

export interface EngineHooks {
  onBatch?: (report: BatchReport) => void;
  /** After every run of a line: why the processor stopped looking at it (tests wait on this). */
  onRun?: (report: RunReport) => void;
  onSweep?: (report: SweepReport) => void;
  onPurge?: (report: PurgeReport) => void;
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
  const processor = new Processor(ctx, hooks.onBatch, hooks.onRun);
  const sweeper = new Sweeper(ctx, hooks.onSweep);
  const retention = new Retention(ctx, hooks.onPurge);
  const dispatcherDb = createDb(ctx.config.DATABASE_URL, ctx.log, { max: DISPATCHER_CONNECTIONS, timeoutMs: ctx.config.DATABASE_TIMEOUT_MS });
  const dispatcher = new WebhookDispatcher({ ...ctx, db: dispatcherDb }, hooks.onDelivery);
  const subscriber = ctx.redis.duplicate({ maxRetriesPerRequest: null });
  subscriber.on('error', (err: Error) => ctx.log.warn({ err: err.message }, 'Redis subscriber error'));
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === ctx.keys.wakeChannel) processor.wake(Number(message));
    else sweeper.holdsGranted(Number(message));
  });
  await subscriber.subscribe(ctx.keys.wakeChannel, ctx.keys.holdsChannel);
  await processor.start();
  sweeper.start();
  retention.start();
  dispatcher.start();
  return {
    processor,
    sweeper,
    dispatcher,
    async stop() {
      await Promise.all([processor.stop(), sweeper.stop(), retention.stop(), dispatcher.stop()]);
      // A second stop() (a test's, then its harness's) finds the pool closed already.
      if (!dispatcherDb.pool.ended) await dispatcherDb.close();
      subscriber.disconnect();
    },
  };
}
