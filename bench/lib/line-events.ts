// Listens to one line's sharded channel (`queue:{id}:events`), where the Lua scripts publish every
// change of a token's state: the moment a hold becomes visible to its buyer.
import { createRedis } from '../../src/redis/client.ts';
import type { BenchEnv } from '../env.ts';
import { epochMs } from './stats.ts';

export interface LineEvent {
  served?: number;
  changes: Record<string, string>;
}

export async function watchLine(
  env: BenchEnv,
  ticketTypeId: number,
  onEvent: (event: LineEvent, at: number) => void,
): Promise<() => void> {
  const subscriber = createRedis(env.ctx.redisSettings, { subscriber: true });
  const channel = env.ctx.keys.line(ticketTypeId).events;
  subscriber.on('smessage', (_channel: string, message: string) => {
    const at = epochMs();
    const event = JSON.parse(message) as LineEvent;
    // cjson encodes an empty table as an array
    if (Array.isArray(event.changes)) event.changes = {};
    onEvent(event, at);
  });
  await subscriber.ssubscribe(channel);
  return () => subscriber.disconnect();
}
