// Redis connections with every Lua script of scripts/ registered once, as commands.
import { readdirSync, readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';

const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);
const INCLUDE = /^--- @include "([a-z-]+)"$/gm;

type Arg = string | number;
export type Reply = string | number | null | Reply[];

/**
 * The commands defined by scripts/*.lua: keys first, then arguments, as each script's header says.
 * Only src/redis/line-store.ts and src/redis/rate-limit.ts call them, through typed wrappers.
 */
export interface ScriptCommands {
  join(...args: Arg[]): Promise<Reply[]>;
  lineStatus(...args: Arg[]): Promise<[string | null, number]>;
  lease(...args: Arg[]): Promise<number>;
  unlease(...args: Arg[]): Promise<number>;
  reepoch(...args: Arg[]): Promise<number>;
  resume(...args: Arg[]): Promise<number>;
  take(...args: Arg[]): Promise<string[]>;
  settle(...args: Arg[]): Promise<string[]>;
  cancel(...args: Arg[]): Promise<[string, string, string] | null>;
  endHolds(...args: Arg[]): Promise<number>;
  countHit(...args: Arg[]): Promise<[number, number]>;
  purge(...args: Arg[]): Promise<number>;
  seal(...args: Arg[]): Promise<[number, number]>;
  place(...args: Arg[]): Promise<[string, number?]>;
}

export type RedisClient = Redis & ScriptCommands;

export interface Script {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** Every script of `dir`, with its includes expanded; a file whose name does not parse is an error. */
export function loadScripts(dir: URL = SCRIPTS_DIR): Script[] {
  const read = (file: string) => readFileSync(new URL(file, dir), 'utf8');
  return readdirSync(dir).filter((f) => f.endsWith('.lua')).map((file) => {
    const [, name, keys] = /^([a-z][A-Za-z]*)-(\d+)\.lua$/.exec(file) ?? [];
    if (!name) throw new Error(`src/redis/scripts/${file}: a script's name must be <camelCaseName>-<number of keys>.lua`);
    const lua = read(file).replace(INCLUDE, (_, include: string) => read(`includes/${include}.lua`));
    return { name, numberOfKeys: Number(keys), lua };
  });
}

const SCRIPTS = loadScripts();

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
  for (const { name, numberOfKeys, lua } of SCRIPTS) redis.defineCommand(name, { numberOfKeys, lua });
  return redis as RedisClient;
}

/** Runs a pipeline and throws its first failed command's error (ioredis reports them per command). */
export async function execPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}
