// The background work of ROLE=worker (and all): processor and sweeper, woken over Redis pub/sub,
// and the removal of finished lines' keys.
import type { Context } from '../context.ts';
import { ENTRY_ID_PURPOSE } from '../domain/draw.ts';
import { loadSigner } from '../sale/signer.ts';
import { DrawPlacer, type DrawReport } from './draw.ts';
import { Processor, type BatchReport, type RunReport } from './processor.ts';
import { Retention, type PurgeReport } from './retention.ts';
import { SaleClock, type TransitionReport } from './sale-clock.ts';
import { Sweeper, type SweepReport } from './sweeper.ts';

export interface EngineHooks {
  onBatch?: (report: BatchReport) => void;
  /** After every run of a line: why the processor stopped looking at it (tests wait on this). */
  onRun?: (report: RunReport) => void;
  onSweep?: (report: SweepReport) => void;
  onPurge?: (report: PurgeReport) => void;
  /** A pre-queue was drawn into its line (all of it, by this process). */
  onDraw?: (report: DrawReport) => void;
  /** A scheduled sale opened or closed (this process recorded it). */
  onTransition?: (report: TransitionReport) => void;
}

export interface Engine {
  processor: Processor;
  sweeper: Sweeper;
  stop(): Promise<void>;
}

export async function startEngine(ctx: Context, hooks: EngineHooks = {}): Promise<Engine> {
  // Entry ids are derived from the deployment's signing key, which every process loads alike.
  const signer = await loadSigner(ctx.db, ctx.config.RECEIPT_SIGNING_KEY);
  const placer = new DrawPlacer(ctx, signer.deriveSecret(ENTRY_ID_PURPOSE), hooks.onDraw);
  const processor = new Processor(ctx, hooks.onBatch, hooks.onRun, placer);
  const sweeper = new Sweeper(ctx, hooks.onSweep);
  const retention = new Retention(ctx, hooks.onPurge);
  const clock = new SaleClock(ctx, (id) => processor.wake(id), hooks.onTransition);
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
  clock.start();
  return {
    processor,
    sweeper,
    async stop() {
      await Promise.all([processor.stop(), sweeper.stop(), retention.stop(), clock.stop()]);
      subscriber.disconnect();
    },
  };
}
