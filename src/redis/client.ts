// Redis connections, to one Redis or to a Redis Cluster (REDIS_CLUSTER_NODES), chosen here and
// nowhere else, with every Lua script of scripts/ registered once, as commands.
import { readdirSync, readFileSync } from 'node:fs';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

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
  readRecords(...args: Arg[]): Promise<(string | null)[]>;
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

/** A pipeline that also queues the scripts' commands (ioredis defines them on pipelines too). */
export type ScriptPipeline = ReturnType<Redis['pipeline']> & { [name in keyof ScriptCommands]: (...args: Arg[]) => ScriptPipeline };

/** One Redis or a Redis Cluster: the same commands, routed by key on a cluster. */
export type RedisClient = (Redis | Cluster) & ScriptCommands;

export interface RedisSettings {
  /** REDIS_URL: the one Redis, or the credentials and TLS choice for the cluster's nodes. */
  url: string;
  /** REDIS_CLUSTER_NODES as host:port seeds; empty: not a cluster. */
  clusterNodes: string[];
  /** REDIS_TIMEOUT_MS: the longest wait for a reply (and for a connection). */
  timeoutMs: number;
}

export interface Script {
  name: string;
  /** Undefined for a script whose keys vary (`name-n.lua`): the call then passes their count first. */
  numberOfKeys?: number;
  lua: string;
}

/** Every script of `dir`, with its includes expanded; a file whose name does not parse is an error. */
export function loadScripts(dir: URL = SCRIPTS_DIR): Script[] {
  const read = (file: string) => readFileSync(new URL(file, dir), 'utf8');
  return readdirSync(dir).filter((f) => f.endsWith('.lua')).map((file) => {
    const [, name, keys] = /^([a-z][A-Za-z]*)-(\d+|n)\.lua$/.exec(file) ?? [];
    if (!name) throw new Error(`src/redis/scripts/${file}: a script's name must be <camelCaseName>-<number of keys, or n>.lua`);
    const lua = read(file).replace(INCLUDE, (_, include: string) => read(`includes/${include}.lua`));
    return { name, numberOfKeys: keys === 'n' ? undefined : Number(keys), lua };
  });
}

const SCRIPTS = loadScripts();

/**
 * A connection (to each node, on a cluster) for commands; `subscriber` for one that listens to the
 * lines' sharded channels (on a cluster, one subscriber per node: ioredis's shardedSubscribers).
 */
export function createRedis(settings: RedisSettings, { subscriber = false } = {}): RedisClient {
  const url = new URL(settings.url);
  const options: RedisOptions = {
    // Fail fast while Redis is down or hung, so that routes answer 503 instead of hanging, and
    // reconnect within a second of its return (ioredis's default backs off to about 5 s: joins
    // measured 10-14 s to fail and 5 s to come back).
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000),
    commandTimeout: settings.timeoutMs,
    connectTimeout: settings.timeoutMs,
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
  // Commands issued in the same tick share one round trip: about 2x join throughput (DESIGN.md).
  // Not on a cluster: there ioredis's automatic pipelines can end the process while a slot moves
  // (its own callback throws "results[i] is not iterable" on a pipeline's results: ioredis issue
  // 1931, still in 6.0.0; the API died so in 3 of 14 runs of cluster-resharding.test.ts). Commands
  // still share each node's connection without waiting for each other's replies. A subscriber
  // sends next to nothing.
  const redis = settings.clusterNodes.length
    ? refreshingSlots(new Cluster(settings.clusterNodes.map(seed), clusterOptions(options, subscriber)))
    : new Redis(settings.url, { ...options, enableAutoPipelining: !subscriber });
  for (const { name, numberOfKeys, lua } of SCRIPTS) redis.defineCommand(name, { numberOfKeys, lua });
  return redis as RedisClient;
}

function seed(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

const SLOTS_REFRESH_MS = 2_000;

/**
 * Reads the slot map again every 2 s, whatever else happens. A subscriber sends no command that a
 * MOVED could correct: when a slot moves, its old master unsubscribes it from the slot's channels
 * and ioredis reads the map at once, but from any master, which may not know the new owner yet; it
 * then listened to nobody (a worker's wakes were lost for good in
 * test/integration/cluster-resharding.test.ts). A MOVED inside a pipeline (a join and its WAIT) is
 * not followed and does not make ioredis read the map either: after a failover the API answered
 * every such join 503 for 30 s and more (cluster-failover.test.ts). A changed map subscribes again
 * on the new owner ('subscribersReady'). Not ioredis's slotsRefreshInterval: a read in flight when
 * the client disconnects arms its timer again, for good, and the process never exits (a CI run
 * hung so); this timer never keeps the process alive and stops with the client.
 */
function refreshingSlots(cluster: Cluster): Cluster {
  const timer = setInterval(() => cluster.refreshSlotsCache(), SLOTS_REFRESH_MS).unref();
  cluster.once('end', () => clearInterval(timer));
  return cluster;
}


function clusterOptions(redisOptions: RedisOptions, shardedSubscribers: boolean): ClusterOptions {
  return {
    redisOptions,
    enableAutoPipelining: false,
    shardedSubscribers,
    // Reading the map may take as long as any command (ioredis's default is 1 s): a worker started
    // on a loaded machine failed every read for a minute and never came up (cluster-many-lines).
    slotsRefreshTimeout: redisOptions.commandTimeout,
    // Every read goes to the line's master: a replica may lag behind the write a buyer just made.
    scaleReads: 'master',
    // MOVED, ASK and TRYAGAIN (a slot being migrated) are followed and retried; reconnecting after
    // a failover or a refused seed backs off to a second, as for one Redis.
    maxRedirections: 16,
    retryDelayOnTryAgain: 50,
    retryDelayOnFailover: 100,
    clusterRetryStrategy: (times: number) => Math.min(100 * times, 1_000),
  };
}

/** Runs a pipeline and throws its first failed command's error (ioredis reports them per command). */
export async function execPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}
