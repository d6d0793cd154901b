// The background work of ROLE=worker (and all): the processor, woken by the lines' sharded wake
// channels, the sweeper, and the removal of finished lines' keys.
import type { Context } from '../context.ts';
import { createRedis } from '../redis/client.ts';
import { Processor, type BatchReport, type RunReport } from './processor.ts';
import { Retention, type PurgeReport } from './retention.ts';
import { Sweeper, type SweepReport } from './sweeper.ts';

export interface EngineHooks {
  onBatch?: (report: BatchReport) => void;
  /** After every run of a line: why the processor stopped looking at it (tests wait on this). */
  onRun?: (report: RunReport) => void;
  /** After every poll of the processor. */
  onPoll?: () => void;
  onSweep?: (report: SweepReport) => void;
  onPurge?: (report: PurgeReport) => void;
}

export interface Engine {
  processor: Processor;
  sweeper: Sweeper;
  stop(): Promise<void>;
}

export async function startEngine(ctx: Context, hooks: EngineHooks = {}): Promise<Engine> {
  // One subscriber (one per node on a cluster) for every line's wake channel.
  const subscriber = createRedis(ctx.redisSettings, { subscriber: true });
  subscriber.on('error', (err: Error) => ctx.log.warn({ err: err.message }, 'Redis subscriber error'));
  const processor = new Processor(ctx, {
    // One channel a call: on a cluster, the channels of one SSUBSCRIBE must share a slot.
    listen: async (ids) => void (await Promise.all(ids.map((id) => subscriber.ssubscribe(ctx.keys.line(id).wake)))),
  }, hooks);
  subscriber.on('smessage', (_channel: string, message: string) => processor.wake(Number(message)));
  let connectedBefore = false;
  subscriber.on('ready', () => {
    // ioredis subscribes again by itself; a wake sent meanwhile is lost, so look at every line.
    if (connectedBefore) processor.fullScan().catch((err: Error) => ctx.log.warn({ err: err.message }, 'processor scan failed'));
    connectedBefore = true;
  });
  const sweeper = new Sweeper(ctx, hooks.onSweep);
  const retention = new Retention(ctx, hooks.onPurge);
  await processor.start();
  sweeper.start();
  retention.start();
  return {
    processor,
    sweeper,
    async stop() {
      await Promise.all([processor.stop(), sweeper.stop(), retention.stop()]);
      subscriber.disconnect();
    },
  };
}
