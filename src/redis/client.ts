// Redis connections with every Lua script of scripts/ registered once, as commands.
import { readdirSync, readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';

const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

type Arg = string | number;
type Reply = string | number | null | Reply[];

/** The commands defined by scripts/*.lua; each takes its keys first, then its arguments. */
export interface ScriptCommands {
  join(...args: Arg[]): Promise<[number, string, string | number, number, number?]>;
  lineStatus(...args: Arg[]): Promise<[string | null, number]>;
  lease(...args: Arg[]): Promise<number>;
  unlease(...args: Arg[]): Promise<number>;
  reepoch(...args: Arg[]): Promise<number>;
  take(...args: Arg[]): Promise<(string | number)[]>;
  settle(...args: Arg[]): Promise<string[] | null>;
  cancel(...args: Arg[]): Promise<string | null>;
  endHolds(...args: Arg[]): Promise<number>;
}

export type RedisClient = Redis & ScriptCommands;
export type { Reply };

export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const redis = new Redis(url, {
    // Commands issued in the same tick share one round trip: about 2x join throughput (DESIGN.md).
    enableAutoPipelining: true,
    // Fail fast while Redis is down, so that routes answer 503 instead of hanging, and reconnect
    // within a second of its return (ioredis's default backs off to about 5 s: joins measured
    // 10-14 s to fail and 5 s to come back).
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000),
    ...options,
  });
  for (const file of readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.lua'))) {
    const [, name, keys] = /^(.+)-(\d+)\.lua$/.exec(file) ?? [];
    if (!name) continue;
    redis.defineCommand(name, { numberOfKeys: Number(keys), lua: readFileSync(new URL(file, SCRIPTS_DIR), 'utf8') });
  }
  return redis as RedisClient;
}

/** Runs a pipeline and throws its first failed command's error (ioredis reports them per command). */
export async function execPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}
