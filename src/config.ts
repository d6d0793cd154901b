// The only reader of process.env: every setting validated at start, typed, with its default.
import { existsSync } from 'node:fs';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { CURRENCIES } from './domain/money.ts';

const Integer = (def: number, minimum: number, maximum: number) =>
  Type.Integer({ default: def, minimum, maximum });

const ConfigSchema = Type.Object({
  PORT: Integer(8080, 0, 65535),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/boxoffice', pattern: '^postgres(ql)?://' }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  /** Seed nodes of a Redis Cluster (host:port,...): every process then runs in cluster mode; REDIS_URL gives only credentials and TLS. */
  REDIS_CLUSTER_NODES: Type.String({ default: '', pattern: '^([^,:\\s]+:[0-9]{1,5}(,[^,:\\s]+:[0-9]{1,5})*)?$' }),
  /** A join is acknowledged only once this many replicas have it (Redis WAIT): survives a failover; 0 = off. */
  REDIS_JOIN_WAIT_REPLICAS: Integer(0, 0, 16),
  /** Longest wait for PostgreSQL (a connection, or a statement's reply): past it the request answers 503. */
  DATABASE_TIMEOUT_MS: Integer(3_000, 100, 60_000),
  /** Longest wait for a Redis reply: past it the request answers 503. */
  REDIS_TIMEOUT_MS: Integer(2_000, 100, 60_000),
  /** Prepended to every Redis key and channel, so that several deployments (or test runs) share one Redis. */
  REDIS_KEY_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9_:.-]*$' }),
  ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], { default: 'all' }),
  RESERVATION_TTL_SECONDS: Integer(120, 1, 86_400),
  CLEANUP_INTERVAL_SECONDS: Integer(30, 1, 3_600),
  PROCESSOR_BATCH_SIZE: Integer(500, 1, 10_000),
  /** How long a line's Redis keys stay after its sale is over (event started, or sold out with no live hold). */
  LINE_RETENTION_SECONDS: Integer(86_400, 1, 31_536_000),
  ADMIN_TOKEN: Type.String({ default: '' }),
  /** The Ed25519 private key (PKCS#8 PEM, newlines as \n allowed) that signs receipts and passes; empty: one kept in PostgreSQL. */
  RECEIPT_SIGNING_KEY: Type.String({ default: '' }),
  /** The ISO 4217 currency of an event created without one. */
  DEFAULT_CURRENCY: Type.Union(CURRENCIES.map((c) => Type.Literal(c)), { default: 'EUR' }),
  /** The longest wait for a webhook endpoint's answer; past it the attempt failed (and is retried). */
  WEBHOOK_TIMEOUT_MS: Integer(10_000, 100, 120_000),
  /** The wait before the first retry of a webhook; each later wait doubles (at most an hour), with jitter. */
  WEBHOOK_RETRY_BASE_MS: Integer(10_000, 1, 3_600_000),
  /** Retries of a webhook go on at least this long after its event (or a "retry now"), then it is marked failed. */
  WEBHOOK_RETRY_WINDOW_SECONDS: Integer(86_400, 1, 2_592_000),
  /** Webhook requests one worker process has in flight at once (at most half of them to one endpoint). */
  WEBHOOK_CONCURRENCY: Integer(16, 1, 1_000),
  /** POST /queue/join attempts per client address per RATE_LIMIT_WINDOW_SECONDS, shared by all API processes; 0 = off. */
  JOIN_LIMIT_PER_IP: Integer(100, 0, 1_000_000),
  /** POST /queue/join attempts per user id per window after the user's first join (repeats, returns); 0 = off. */
  JOIN_LIMIT_PER_USER: Integer(10, 0, 1_000_000),
  /** GET /reservation/status requests per client address per window, shared by all API processes; 0 = off. */
  STATUS_LIMIT_PER_IP: Integer(300, 0, 1_000_000),
  /** POST /reservation/confirm and /reservation/cancel requests per client address per window; 0 = off. */
  ACTION_LIMIT_PER_IP: Integer(60, 0, 1_000_000),
  RATE_LIMIT_WINDOW_SECONDS: Integer(10, 1, 3_600),
  /** Open GET /queue/stream connections per client address, per process. */
  STREAM_LIMIT_PER_IP: Integer(20, 1, 1_000_000),
  /** Open GET /queue/stream connections per process. */
  STREAM_LIMIT: Integer(10_000, 1, 1_000_000),
  /** Requests one process works on at once (streams apart); past it a request is refused at once with 503. */
  MAX_CONCURRENT_REQUESTS: Integer(1_000, 1, 1_000_000),
  /** POST /queue/join requests one process works on at once; past it a join is refused at once with 503 (before its body is read). */
  MAX_CONCURRENT_JOINS: Integer(128, 1, 1_000_000),
  /** Refuse requests (503) while the event loop's mean delay, sampled every 50 ms, exceeds this many milliseconds beyond its 10 ms resolution; 0 = off. */
  MAX_EVENT_LOOP_DELAY_MS: Integer(0, 0, 60_000),
  /** The Retry-After (seconds) of a request refused for load; clients add jitter. */
  OVERLOAD_RETRY_AFTER_SECONDS: Integer(1, 1, 3_600),
  /** Behind a reverse proxy: "true" or the proxies' addresses (comma-separated, CIDR allowed), so that the per-address limit sees the buyer. */
  TRUST_PROXY: Type.String({ default: '', pattern: '^(true|false|[0-9A-Fa-f.:/, ]*)$' }),
  LOG_LEVEL: Type.Union(
    (['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const).map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;
export const CONFIG_KEYS = Object.keys(ConfigSchema.properties) as (keyof Config)[];

export class ConfigError extends Error {}

/** Builds the configuration from an environment; throws a ConfigError naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const [error] = Value.Errors(ConfigSchema, converted);
  if (error) {
    const name = error.instancePath.replace(/^\//, '') || String(Object.values(error.params ?? {})[0] ?? '?');
    throw new ConfigError(`invalid configuration: ${name}=${JSON.stringify(raw[name] ?? '')} (${error.message})`);
  }
  return converted as Config;
}

/** Reads `.env` when present (real environment variables win), then validates. */
export function loadConfig(): Config {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return parseConfig(process.env);
}
