// npm run soak -- --seconds 600: mixed load for a set time against 2 API and 2 worker processes
// (joins, status polls, live streams, confirms, cancels, holds left to expire, buyers coming back
// for more), then checks DESIGN.md's invariants I1-I6 and reports the processes' RSS and Redis
// memory over time. It runs on its own database and key prefix on DATABASE_URL / REDIS_URL and
// removes both afterwards. Exit code 1 when an invariant broke or a request failed.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig, parseConfig, type Config } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { createEvent, createTicketType } from '../src/db/catalog.ts';
import { dropDatabase, ensureDatabase, migrate } from '../src/db/migrate.ts';
import type { TokenRecord } from '../src/domain/record.ts';
import { FINAL_STATUSES, type Status } from '../src/domain/status.ts';
import { TOKEN_PATTERN } from '../src/domain/token.ts';
import { assertLineInvariants, assertStockInvariants, lineCounters, readLine } from '../support/invariants.ts';
import { configEnv, startBoxoffice, type BoxofficeProcess } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';

export interface SoakOptions {
  seconds: number;
  /** Concurrent buyers. */
  agents?: number;
  /** Progress lines; the final report is returned, and printed by the command. */
  print?: (line: string) => void;
}

interface Sample {
  at: number;
  rssMb: number[];
  redisUsedMb: number;
  soakKeysMb: number;
  soakKeys: number;
  requests: number;
}

interface OpStats {
  count: number;
  serverErrors: number;
  networkErrors: number;
  ms: number[];
}

export interface SoakReport {
  seconds: number;
  agents: number;
  ops: Record<string, { count: number; serverErrors: number; networkErrors: number; p50: number; p99: number }>;
  buyers: number;
  outcomes: Record<string, number>;
  samples: Sample[];
  tokensInLogs: number;
  violations: string[];
}

type TicketType = { id: number; capacity: number; maxPerOrder: number };

const TTL_SECONDS = 3;
const SETTLE_MS = 90_000;
const TOKEN_IN_TEXT = /[A-Za-z0-9_-]{22}\.[1-9][0-9]*\.[0-9]+/g;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0);
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function rssBytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function soakKeyMemory(ctx: Context): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, batch] = await ctx.redis.scan(cursor, 'MATCH', `${ctx.config.REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    keys += batch.length;
    const pipeline = ctx.redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key);
    for (const [, size] of (await pipeline.exec()) ?? []) bytes += Number(size ?? 0);
  } while (cursor !== '0');
  return { bytes, keys };
}

async function redisUsedMemory(ctx: Context): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))?.[1] ?? 0);
}

export async function runSoak({ seconds, agents = 40, print = () => undefined }: SoakOptions): Promise<SoakReport> {
  const world = await createWorld(seconds);
  const tally = newTally();
  const processes: BoxofficeProcess[] = [];
  try {
    processes.push(...(await startProcesses(configEnv(world.config))));
    const client = createClient(processes.filter((p) => p.role === 'api'), tally);
    const watch = createWatch(world.ctx, processes, tally, print);
    await applyLoad({ seconds, agents, world, client, tally, watch });
    await settle(world, tally, print);
    await watch.sample();
    for (const p of processes) if (!p.running) tally.violations.push(`process ${p.pid} died`);
    await checkInvariants(world, tally, (token) => client.call('status', `/reservation/status?token=${token}`));
    watch.scanLogs();
    if (tally.leakedTokens.size) tally.violations.push(`I5: ${tally.leakedTokens.size} tokens appear in the processes' logs`);
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await removeWorld(world);
  }
  return report(seconds, agents, tally);
}

interface World {
  config: Config;
  ctx: Context;
  ticketTypes: TicketType[];
}

/** What the run saw: requests, what each buyer was told, and every broken promise. */
interface Tally {
  ops: Map<string, OpStats>;
  outcomes: Record<string, number>;
  /** Every acknowledged join. */
  tokens: Map<string, { ticketTypeId: number; user: string }>;
  /** Acknowledged confirms and cancels. */
  confirmed: Set<string>;
  cancelled: Set<string>;
  samples: Sample[];
  leakedTokens: Set<string>;
  violations: string[];
  requests: number;
  buyers: number;
}

type Reply = { status: number; json: Record<string, unknown> } | undefined;
type StatusOf = (token: string) => Promise<Reply>;
/** The status a token must have, from the stores. */
type Expected = (token: string) => string | undefined;

function newTally(): Tally {
  return {
    ops: new Map(), outcomes: {}, tokens: new Map(), confirmed: new Set(), cancelled: new Set(), samples: [],
    leakedTokens: new Set(), violations: [], requests: 0, buyers: 0,
  };
}

/** A database and key prefix of the run's own, and the sale: two large ticket types and a small one. */
async function createWorld(seconds: number): Promise<World> {
  const base = loadConfig();
  const database = new URL(base.DATABASE_URL);
  database.pathname = `/boxoffice_soak_${randomBytes(4).toString('hex')}`;
  const config = parseConfig({
    ...configEnv(base),
    DATABASE_URL: database.toString(),
    REDIS_KEY_PREFIX: `soak:${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'info',
    RESERVATION_TTL_SECONDS: String(TTL_SECONDS),
    // Every buyer comes from this machine's address: the per-address limits would throttle the load.
    JOIN_LIMIT_PER_IP: '0',
    STATUS_LIMIT_PER_IP: '0',
    ACTION_LIMIT_PER_IP: '0',
  });
  await ensureDatabase(config.DATABASE_URL);
  const ctx = createContext(parseConfig({ ...configEnv(config), LOG_LEVEL: 'silent' }));
  await migrate(ctx.db);

  const event = await createEvent(ctx.db, { name: 'Soak', currency: config.DEFAULT_CURRENCY, starts_at: new Date(Date.now() + 86_400_000).toISOString() });
  // Two large ticket types that last the whole run, and a small one that sells out early (I6).
  const large = Math.max(500, seconds * 20);
  const ticketTypes: TicketType[] = [];
  for (const [name, capacity, maxPerOrder] of [['Floor', large, 4], ['Seats', large, 2], ['Backstage', 20, 1]] as const) {
    const created = await createTicketType(ctx.db, event.id, { name, price: '10.00', capacity, max_per_order: maxPerOrder });
    ticketTypes.push({ id: created!.id, capacity, maxPerOrder });
  }
  return { config, ctx, ticketTypes };
}

async function removeWorld({ config, ctx }: World): Promise<void> {
  const keys = await ctx.redis.keys(`${config.REDIS_KEY_PREFIX}*`);
  if (keys.length) await ctx.redis.del(...keys);
  await ctx.close();
  await dropDatabase(config.DATABASE_URL);
}

/** Two API processes, then two workers (the report names them in that order). */
async function startProcesses(env: Record<string, string>): Promise<BoxofficeProcess[]> {
  const apis = await Promise.all([startBoxoffice({ role: 'api', env }), startBoxoffice({ role: 'api', env })]);
  const workers = await Promise.all([startBoxoffice({ role: 'worker', env }), startBoxoffice({ role: 'worker', env })]);
  return [...apis, ...workers];
}

function opStats(tally: Tally, op: string): OpStats {
  const stats = tally.ops.get(op) ?? { count: 0, serverErrors: 0, networkErrors: 0, ms: [] };
  tally.ops.set(op, stats);
  stats.count++;
  tally.requests++;
  return stats;
}

/** Requests to the API processes in turn, timed per operation; a 5xx or a failed request is a violation. */
function createClient(apis: BoxofficeProcess[], tally: Tally) {
  let next = 0;
  const url = (path: string) => `${apis[next++ % apis.length]!.url}${path}`;

  async function call(op: string, path: string, body?: unknown): Promise<Reply> {
    const stats = opStats(tally, op);
    const started = performance.now();
    try {
      const res = await fetch(url(path), {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const json = (await res.json()) as Record<string, unknown>;
      stats.ms.push(performance.now() - started);
      if (res.status >= 500) {
        stats.serverErrors++;
        tally.violations.push(`${op} answered ${res.status}: ${JSON.stringify(json)}`);
      }
      return { status: res.status, json };
    } catch (err) {
      stats.networkErrors++;
      tally.violations.push(`${op} failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Follows the live stream until the status is reserved or final. */
  async function stream(token: string): Promise<string | undefined> {
    const stats = opStats(tally, 'stream');
    const started = performance.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 30_000);
    try {
      const res = await fetch(url(`/queue/stream?token=${token}`), { signal: abort.signal });
      if (res.status >= 500) {
        stats.serverErrors++;
        tally.violations.push(`stream answered ${res.status}: ${await res.text()}`);
      }
      if (!res.ok || !res.body) return undefined;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
          buffer = buffer.slice(end + 2);
          if (!data) continue;
          if (first) stats.ms.push(performance.now() - started);
          first = false;
          const status = (JSON.parse(data.slice(6)) as { status: string }).status;
          if (status === 'reserved' || FINAL_STATUSES.has(status as Status)) {
            abort.abort();
            return status;
          }
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) {
        stats.networkErrors++;
        tally.violations.push(`stream failed: ${(err as Error).message}`);
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  return { call, stream };
}

type Client = ReturnType<typeof createClient>;

/** Memory over time (the processes' RSS, Redis) and the processes' logs, searched for tokens. */
function createWatch(ctx: Context, processes: BoxofficeProcess[], tally: Tally, print: (line: string) => void) {
  const started = Date.now();
  // Lines are scanned for tokens and dropped as the run goes, so a long run keeps little in memory.
  const scanLogs = () => {
    for (const p of processes) {
      for (const line of p.lines.splice(0)) {
        for (const found of line.match(TOKEN_IN_TEXT) ?? []) if (tally.tokens.has(found)) tally.leakedTokens.add(found);
      }
    }
  };
  const sample = async () => {
    const keys = await soakKeyMemory(ctx);
    const s: Sample = {
      at: Math.round((Date.now() - started) / 1000),
      rssMb: processes.map((p) => mb(rssBytes(p.pid))),
      redisUsedMb: mb(await redisUsedMemory(ctx)),
      soakKeysMb: mb(keys.bytes),
      soakKeys: keys.keys,
      requests: tally.requests,
    };
    tally.samples.push(s);
    scanLogs();
    print(`t=${String(s.at).padStart(4)}s  RSS MB api ${s.rssMb.slice(0, 2).join(' / ')}  worker ${s.rssMb.slice(2).join(' / ')}`
      + `  Redis used ${s.redisUsedMb} MB, soak keys ${s.soakKeys} = ${s.soakKeysMb} MB  requests ${tally.requests}`);
  };
  return { sample, scanLogs };
}

type Watch = ReturnType<typeof createWatch>;

/** `agents` buyers at a time for `seconds`, one after another each, with a memory sample every so often. */
async function applyLoad(o: { seconds: number; agents: number; world: World; client: Client; tally: Tally; watch: Watch }): Promise<void> {
  const { seconds, agents, world, client, tally, watch } = o;
  const load = { running: true };
  const started = Date.now();
  const sampleEvery = Math.max(1_000, Math.round((seconds * 1000) / 60));
  await watch.sample();
  const buyers = Array.from({ length: agents }, () => agent(world.ticketTypes, client, tally, load));
  try {
    while (Date.now() - started < seconds * 1000) {
      await delay(Math.min(sampleEvery, seconds * 1000 - (Date.now() - started)));
      await watch.sample();
    }
  } finally {
    load.running = false;
    await Promise.all(buyers);
  }
}

/** One concurrent buyer: buys, sometimes comes back for more, and starts over as someone else. */
async function agent(ticketTypes: TicketType[], client: Client, tally: Tally, load: { running: boolean }): Promise<void> {
  while (load.running) {
    const user = `soak-${tally.buyers++}`;
    const ticketType = Math.random() < 0.05 ? ticketTypes[2]! : pick(ticketTypes.slice(0, 2));
    let outcome = await buy(user, ticketType, client, tally, load);
    tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
    // Some come back for more: the per-user cap (PostgreSQL) is checked for returning buyers.
    if (load.running && Math.random() < 0.15 && outcome !== 'join_refused') {
      outcome = await buy(user, ticketType, client, tally, load);
      tally.outcomes[`again_${outcome}`] = (tally.outcomes[`again_${outcome}`] ?? 0) + 1;
    }
  }
}

/** Joins, follows the line (live stream or polls), then confirms, cancels or lets the hold run out. */
async function buy(user: string, ticketType: TicketType, client: Client, tally: Tally, load: { running: boolean }): Promise<string> {
  const quantity = 1 + Math.floor(Math.random() * Math.min(ticketType.maxPerOrder, 3));
  const joined = await client.call('join', '/queue/join', { user_id: user, ticket_type_id: ticketType.id, quantity });
  if (joined?.status === 409) return (joined.json.error as { code: string }).code === 'user_limit_reached' ? 'capped' : 'already_joined';
  if (joined?.status !== 202) return 'join_refused';
  const token = joined.json.queue_token as string;
  tally.tokens.set(token, { ticketTypeId: ticketType.id, user });
  if (joined.json.status === 'pending' && Math.random() < 0.05) {
    if ((await client.call('cancel', '/reservation/cancel', { token }))?.status === 200) tally.cancelled.add(token);
    return 'cancelled_in_line';
  }
  const status = joined.json.status === 'reserved' ? 'reserved'
    : Math.random() < 0.25 ? await client.stream(token) : await poll(token, client, load);
  if (status !== 'reserved') return status ?? 'abandoned';
  const roll = Math.random();
  await delay(Math.random() * 1_000);
  if (roll < 0.5) {
    if ((await client.call('confirm', '/reservation/confirm', { token }))?.status === 200) tally.confirmed.add(token);
    return 'confirmed';
  }
  if (roll < 0.7) {
    if ((await client.call('cancel', '/reservation/cancel', { token }))?.status === 200) tally.cancelled.add(token);
    return 'cancelled_hold';
  }
  return 'left_to_expire';
}

async function poll(token: string, client: Client, load: { running: boolean }): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  while (load.running && Date.now() < deadline) {
    const status = (await client.call('status', `/reservation/status?token=${token}`))?.json.status as string | undefined;
    if (status === 'reserved' || (status && FINAL_STATUSES.has(status as Status))) return status;
    await delay(250);
  }
  return undefined;
}

/** After the load: holds run out (TTL_SECONDS), the next buyers are admitted and run out, lines empty. */
async function settle({ ctx, ticketTypes }: World, tally: Tally, print: (line: string) => void): Promise<void> {
  print('load stopped; waiting for every hold to end and every line to empty');
  await waitFor('every hold to end and every line to empty', async () => {
    const held = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservations WHERE status = 'reserved'`);
    // Both lists in one atomic read: a batch put back moves from `processing` to `queue`, and two
    // reads one after the other once saw an empty line while 12 buyers were on their way back.
    const lines = await Promise.all(ticketTypes.map(async (t) => {
      const { queued, processing } = await lineCounters(ctx, t.id);
      return queued + processing;
    }));
    return { holds: held.rows[0]!.n, inLine: lines };
  }, { until: ({ holds, inLine }) => holds === 0 && inLine.every((n) => n === 0), timeoutMs: SETTLE_MS, intervalMs: 500 })
    .catch((err: Error) => tally.violations.push(`not settled after the load: ${err.message}`));
}

/** I1-I6 on the settled system; each broken one adds a sentence to the violations. */
async function checkInvariants(world: World, tally: Tally, status: StatusOf): Promise<void> {
  const { ctx, ticketTypes } = world;
  const { violations } = tally;
  const check = (assertion: () => Promise<unknown>) => assertion().catch((err: Error) => void violations.push(err.message));
  await check(() => assertStockInvariants(ctx.db)); // I1, I2, the per-user cap
  for (const t of ticketTypes) await check(() => assertLineInvariants(ctx, t.id)); // I2, I3, I6 per line

  const { rows } = await ctx.db.query<{ token: string; status: string; booked: boolean }>(
    `SELECT r.token, r.status, b.id IS NOT NULL AS booked FROM reservations r LEFT JOIN ticket_bookings b ON b.reservation_id = r.id`);
  const holds = new Map(rows.map((r) => [r.token, r]));
  const records = new Map<string, TokenRecord>();
  for (const t of ticketTypes) for (const [token, record] of (await readLine(ctx, t.id)).records) records.set(token, record);
  const expected: Expected = (token) => {
    const record = records.get(token);
    if (!record) return undefined;
    if (record.state === 'R' || record.state === 'E') return holds.get(token)?.status;
    return { P: 'pending', S: 'sold_out', C: 'cancelled', Q: 'prequeue' }[record.state];
  };
  checkAcknowledged(tally, expected, holds);
  await checkStatusRoute(tally, expected, status);
  // I5: tokens are 128 random bits, base64url, unique.
  const bad = [...tally.tokens.keys()].filter((t) => !new RegExp(TOKEN_PATTERN).test(t) || Buffer.from(t.slice(0, 22), 'base64url').length !== 16);
  if (bad.length) violations.push(`I5: ${bad.length} malformed tokens`);
}

/** I4 and I6 for what the buyers were told: every join is still there and decided, every confirm booked, every cancel kept. */
function checkAcknowledged(tally: Tally, expected: Expected, holds: Map<string, { booked: boolean }>): void {
  let lost = 0;
  let pending = 0;
  for (const token of tally.tokens.keys()) {
    const state = expected(token);
    if (state === undefined) lost++;
    if (state === 'pending') pending++;
  }
  if (lost) tally.violations.push(`I4: ${lost} acknowledged joins are gone`);
  if (pending) tally.violations.push(`I6: ${pending} buyers still pending with the lines empty`);
  const unbooked = [...tally.confirmed].filter((t) => !holds.get(t)?.booked).length;
  if (unbooked) tally.violations.push(`I4: ${unbooked} acknowledged confirms have no booking`);
  const uncancelled = [...tally.cancelled].filter((t) => expected(t) !== 'cancelled').length;
  if (uncancelled) tally.violations.push(`${uncancelled} acknowledged cancels did not stick`);
}

/** The status route agrees with the stores, for a sample of tokens. */
async function checkStatusRoute(tally: Tally, expected: Expected, status: StatusOf): Promise<void> {
  const sample = [...tally.tokens.keys()].sort(() => Math.random() - 0.5).slice(0, 300);
  const answers = await Promise.all(sample.map(status));
  const wrong = sample.filter((t, i) => answers[i]?.json.status !== expected(t));
  if (wrong.length) tally.violations.push(`status route disagrees with the stores for ${wrong.length} of ${sample.length} tokens`);
}

function report(seconds: number, agents: number, tally: Tally): SoakReport {
  return {
    seconds,
    agents,
    ops: Object.fromEntries([...tally.ops].map(([op, s]) => {
      const sorted = s.ms.sort((a, b) => a - b);
      return [op, { count: s.count, serverErrors: s.serverErrors, networkErrors: s.networkErrors,
        p50: Math.round(percentile(sorted, 0.5) * 10) / 10, p99: Math.round(percentile(sorted, 0.99) * 10) / 10 }];
    })),
    buyers: tally.buyers,
    outcomes: tally.outcomes,
    samples: tally.samples,
    tokensInLogs: tally.leakedTokens.size,
    violations: [...new Set(tally.violations)],
  };
}

export function formatReport(r: SoakReport): string {
  const out: string[] = [];
  out.push(`soak: ${r.seconds} s, ${r.agents} concurrent buyers, ${r.buyers} buyers served`);
  out.push('requests:');
  for (const [op, s] of Object.entries(r.ops)) {
    out.push(`  ${op.padEnd(8)} ${String(s.count).padStart(8)}  p50 ${s.p50} ms  p99 ${s.p99} ms  5xx ${s.serverErrors}  network errors ${s.networkErrors}`);
  }
  out.push(`outcomes: ${Object.entries(r.outcomes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const first = r.samples[0];
  const last = r.samples.at(-1);
  if (first && last) {
    const max = (i: number) => Math.max(...r.samples.map((s) => s.rssMb[i] ?? 0));
    out.push('memory (start -> end, max):');
    ['api 1', 'api 2', 'worker 1', 'worker 2'].forEach((name, i) =>
      out.push(`  ${name.padEnd(9)} RSS ${first.rssMb[i]} -> ${last.rssMb[i]} MB, max ${max(i)} MB`));
    out.push(`  Redis used_memory ${first.redisUsedMb} -> ${last.redisUsedMb} MB (whole server); soak keys ${first.soakKeys} -> ${last.soakKeys}, `
      + `${first.soakKeysMb} -> ${last.soakKeysMb} MB`);
  }
  out.push(`tokens found in logs: ${r.tokensInLogs}`);
  out.push(r.violations.length ? `VIOLATIONS (${r.violations.length}):\n  ${r.violations.slice(0, 20).join('\n  ')}` : 'invariants I1-I6: all hold; no 5xx, no failed request');
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, agents: { type: 'string', default: '40' } } });
  const seconds = Number(values.seconds);
  const agents = Number(values.agents);
  if (!(seconds > 0) || !(agents > 0)) {
    console.error('usage: npm run soak -- [--seconds 30] [--agents 40]');
    process.exit(2);
  }
  const report = await runSoak({ seconds, agents, print: (line) => console.log(line) });
  console.log(formatReport(report));
  process.exit(report.violations.length ? 1 : 0);
}
