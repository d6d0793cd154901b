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
import { loadConfig, parseConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { createEvent, createTicketType } from '../src/db/catalog.ts';
import { ensureDatabase, migrate } from '../src/db/migrate.ts';
import { parseRecord } from '../src/domain/states.ts';
import { dropDatabase } from '../src/db/migrate.ts';
import { assertStockInvariants } from '../support/invariants.ts';
import { configEnv, startBoxoffice, type BoxofficeProcess } from '../support/processes.ts';

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
const TERMINAL = new Set(['confirmed', 'expired', 'cancelled', 'sold_out']);
const TOKEN_IN_TEXT = /[A-Za-z0-9_-]{22}\.[1-9][0-9]*/g;

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
  const base = loadConfig();
  const database = new URL(base.DATABASE_URL);
  database.pathname = `/boxoffice_soak_${randomBytes(4).toString('hex')}`;
  const config = parseConfig({
    ...configEnv(base),
    DATABASE_URL: database.toString(),
    REDIS_KEY_PREFIX: `soak:${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'info',
    RESERVATION_TTL_SECONDS: String(TTL_SECONDS),
    // Every buyer comes from this machine's address: the per-address limit would throttle the load.
    JOIN_LIMIT_PER_IP: '0',
  });
  await ensureDatabase(config.DATABASE_URL);
  const ctx = createContext(parseConfig({ ...configEnv(config), LOG_LEVEL: 'silent' }));
  await migrate(ctx.db);

  const event = await createEvent(ctx.db, { name: 'Soak', starts_at: new Date(Date.now() + 86_400_000).toISOString() });
  // Two large ticket types that last the whole run, and a small one that sells out early (I6).
  const large = Math.max(500, seconds * 20);
  const ticketTypes: TicketType[] = [];
  for (const [name, capacity, maxPerOrder] of [['Floor', large, 4], ['Seats', large, 2], ['Backstage', 20, 1]] as const) {
    const created = await createTicketType(ctx.db, event.id, { name, price: '10.00', capacity, max_per_order: maxPerOrder });
    ticketTypes.push({ id: created!.id, capacity, maxPerOrder });
  }

  const env = configEnv(config);
  const processes: BoxofficeProcess[] = [];
  const stopAll = () => Promise.all(processes.map((p) => p.stop()));
  const leakedTokens = new Set<string>();
  const tokens = new Map<string, { ticketTypeId: number; user: string }>();
  // Lines are scanned for tokens and dropped as the run goes, so a long run keeps little in memory.
  const scanLogs = () => {
    for (const p of processes) {
      for (const line of p.lines.splice(0)) {
        for (const found of line.match(TOKEN_IN_TEXT) ?? []) if (tokens.has(found)) leakedTokens.add(found);
      }
    }
  };

  const ops = new Map<string, OpStats>();
  const outcomes: Record<string, number> = {};
  const confirmed = new Set<string>();
  const cancelled = new Set<string>();
  const samples: Sample[] = [];
  const violations: string[] = [];
  let requests = 0;
  let buyers = 0;
  let running = true;

  try {
    const apis = await Promise.all([startBoxoffice({ role: 'api', env }), startBoxoffice({ role: 'api', env })]);
    processes.push(...apis);
    processes.push(...(await Promise.all([startBoxoffice({ role: 'worker', env }), startBoxoffice({ role: 'worker', env })])));
    let next = 0;
    const url = (path: string) => `${apis[next++ % apis.length]!.url}${path}`;

    async function call(op: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> } | undefined> {
      const stats = ops.get(op) ?? { count: 0, serverErrors: 0, networkErrors: 0, ms: [] };
      ops.set(op, stats);
      stats.count++;
      requests++;
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
          violations.push(`${op} answered ${res.status}: ${JSON.stringify(json)}`);
        }
        return { status: res.status, json };
      } catch (err) {
        stats.networkErrors++;
        violations.push(`${op} failed: ${(err as Error).message}`);
        return undefined;
      }
    }

    /** Follows the live stream until the status is reserved or final. */
    async function stream(token: string): Promise<string | undefined> {
      const stats = ops.get('stream') ?? { count: 0, serverErrors: 0, networkErrors: 0, ms: [] };
      ops.set('stream', stats);
      stats.count++;
      requests++;
      const started = performance.now();
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 30_000);
      try {
        const res = await fetch(url(`/queue/stream?token=${token}`), { signal: abort.signal });
        if (res.status >= 500) stats.serverErrors++;
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
            if (status === 'reserved' || TERMINAL.has(status)) {
              abort.abort();
              return status;
            }
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) {
          stats.networkErrors++;
          violations.push(`stream failed: ${(err as Error).message}`);
        }
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    }

    async function poll(token: string): Promise<string | undefined> {
      const deadline = Date.now() + 30_000;
      while (running && Date.now() < deadline) {
        const status = (await call('status', `/reservation/status?token=${token}`))?.json.status as string | undefined;
        if (status === 'reserved' || (status && TERMINAL.has(status))) return status;
        await delay(250);
      }
      return undefined;
    }

    async function buy(user: string, ticketType: TicketType): Promise<string> {
      const quantity = 1 + Math.floor(Math.random() * Math.min(ticketType.maxPerOrder, 3));
      const joined = await call('join', '/queue/join', { user_id: user, ticket_type_id: ticketType.id, quantity });
      if (joined?.status === 409) return (joined.json.error as { code: string }).code === 'user_limit_reached' ? 'capped' : 'already_joined';
      if (joined?.status !== 202) return 'join_refused';
      const token = joined.json.queue_token as string;
      tokens.set(token, { ticketTypeId: ticketType.id, user });
      if (joined.json.status === 'pending' && Math.random() < 0.05) {
        if ((await call('cancel', '/reservation/cancel', { token }))?.status === 200) cancelled.add(token);
        return 'cancelled_in_line';
      }
      const status = joined.json.status === 'reserved' ? 'reserved' : Math.random() < 0.25 ? await stream(token) : await poll(token);
      if (status !== 'reserved') return status ?? 'abandoned';
      const roll = Math.random();
      await delay(Math.random() * 1_000);
      if (roll < 0.5) {
        if ((await call('confirm', '/reservation/confirm', { token }))?.status === 200) confirmed.add(token);
        return 'confirmed';
      }
      if (roll < 0.7) {
        if ((await call('cancel', '/reservation/cancel', { token }))?.status === 200) cancelled.add(token);
        return 'cancelled_hold';
      }
      return 'left_to_expire';
    }

    async function agent(): Promise<void> {
      while (running) {
        const user = `soak-${buyers++}`;
        const ticketType = Math.random() < 0.05 ? ticketTypes[2]! : pick(ticketTypes.slice(0, 2));
        let outcome = await buy(user, ticketType);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        // Some come back for more: the per-user cap (PostgreSQL) is checked for returning buyers.
        if (running && Math.random() < 0.15 && outcome !== 'join_refused') {
          outcome = await buy(user, ticketType);
          outcomes[`again_${outcome}`] = (outcomes[`again_${outcome}`] ?? 0) + 1;
        }
      }
    }

    const started = Date.now();
    const sampleEvery = Math.max(1_000, Math.round((seconds * 1000) / 60));
    const sample = async () => {
      const keys = await soakKeyMemory(ctx);
      const s: Sample = {
        at: Math.round((Date.now() - started) / 1000),
        rssMb: processes.map((p) => mb(rssBytes(p.pid))),
        redisUsedMb: mb(await redisUsedMemory(ctx)),
        soakKeysMb: mb(keys.bytes),
        soakKeys: keys.keys,
        requests,
      };
      samples.push(s);
      scanLogs();
      print(`t=${String(s.at).padStart(4)}s  RSS MB api ${s.rssMb.slice(0, 2).join(' / ')}  worker ${s.rssMb.slice(2).join(' / ')}`
        + `  Redis used ${s.redisUsedMb} MB, soak keys ${s.soakKeys} = ${s.soakKeysMb} MB  requests ${requests}`);
    };
    await sample();
    const load = Array.from({ length: agents }, agent);
    while (Date.now() - started < seconds * 1000) {
      await delay(Math.min(sampleEvery, seconds * 1000 - (Date.now() - started)));
      await sample();
    }
    running = false;
    await Promise.all(load);

    // Let the lines settle: holds run out (TTL_SECONDS), the next buyers are admitted and run out.
    print('load stopped; waiting for every hold to end and every line to empty');
    const settleBy = Date.now() + 90_000;
    for (;;) {
      const held = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservations WHERE status = 'reserved'`);
      const lines = await Promise.all(ticketTypes.map(async (t) => {
        const k = ctx.keys.line(t.id);
        return (await ctx.redis.llen(k.queue)) + (await ctx.redis.llen(k.processing));
      }));
      if (held.rows[0]!.n === 0 && lines.every((n) => n === 0)) break;
      if (Date.now() > settleBy) {
        violations.push(`not settled 90 s after the load: ${held.rows[0]!.n} holds, ${lines.join('/')} in line`);
        break;
      }
      await delay(500);
    }
    await sample();

    for (const p of processes) if (!p.running) violations.push(`process ${p.pid} died`);
    await checkInvariants(ctx, ticketTypes, tokens, confirmed, cancelled, violations, (token) => call('status', `/reservation/status?token=${token}`));
    scanLogs();
    if (leakedTokens.size) violations.push(`I5: ${leakedTokens.size} tokens appear in the processes' logs`);
  } finally {
    running = false;
    await stopAll();
    const keys = await ctx.redis.keys(`${config.REDIS_KEY_PREFIX}*`);
    if (keys.length) await ctx.redis.del(...keys);
    await ctx.close();
    await dropDatabase(config.DATABASE_URL);
  }

  return {
    seconds,
    agents,
    ops: Object.fromEntries([...ops].map(([op, s]) => {
      const sorted = s.ms.sort((a, b) => a - b);
      return [op, { count: s.count, serverErrors: s.serverErrors, networkErrors: s.networkErrors,
        p50: Math.round(percentile(sorted, 0.5) * 10) / 10, p99: Math.round(percentile(sorted, 0.99) * 10) / 10 }];
    })),
    buyers,
    outcomes,
    samples,
    tokensInLogs: leakedTokens.size,
    violations: [...new Set(violations)],
  };
}

/** I1-I6 on the settled system; each broken one adds a sentence to `violations`. */
async function checkInvariants(
  ctx: Context,
  ticketTypes: TicketType[],
  tokens: Map<string, { ticketTypeId: number }>,
  confirmed: Set<string>,
  cancelled: Set<string>,
  violations: string[],
  status: (token: string) => Promise<{ status: number; json: Record<string, unknown> } | undefined>,
): Promise<void> {
  try {
    await assertStockInvariants(ctx.db); // I1, I2
  } catch (err) {
    violations.push((err as Error).message);
  }
  const { rows } = await ctx.db.query<{ token: string; ticket_type_id: number; status: string; booked: boolean }>(
    `SELECT r.token, r.ticket_type_id, r.status, b.id IS NOT NULL AS booked
     FROM reservations r LEFT JOIN ticket_bookings b ON b.reservation_id = r.id ORDER BY r.id`);
  const holds = new Map(rows.map((r) => [r.token, r]));
  const records = new Map<string, ReturnType<typeof parseRecord>>();
  for (const t of ticketTypes) {
    for (const [token, raw] of Object.entries(await ctx.redis.hgetall(ctx.keys.line(t.id).tokens))) records.set(token, parseRecord(raw));
    // I3: holds granted in join order within the ticket type.
    const seqs = rows.filter((r) => r.ticket_type_id === t.id).map((r) => records.get(r.token)?.seq ?? -1);
    if (seqs.some((s, i) => s < 0 || (i > 0 && s <= seqs[i - 1]!))) violations.push(`I3: holds of ticket type ${t.id} out of join order`);
  }
  const expected = (token: string): string | undefined => {
    const record = records.get(token);
    if (!record) return undefined;
    if (record.state === 'R' || record.state === 'E') return holds.get(token)?.status;
    return { P: 'pending', S: 'sold_out', C: 'cancelled' }[record.state];
  };
  let lost = 0;
  let pending = 0;
  for (const token of tokens.keys()) {
    const state = expected(token);
    if (state === undefined) lost++;
    if (state === 'pending') pending++;
  }
  if (lost) violations.push(`I4: ${lost} acknowledged joins are gone`);
  if (pending) violations.push(`I6: ${pending} buyers still pending with the lines empty`);
  const unbooked = [...confirmed].filter((t) => !holds.get(t)?.booked).length;
  if (unbooked) violations.push(`I4: ${unbooked} acknowledged confirms have no booking`);
  const uncancelled = [...cancelled].filter((t) => expected(t) !== 'cancelled').length;
  if (uncancelled) violations.push(`${uncancelled} acknowledged cancels did not stick`);
  // The status route agrees with the stores, for a sample of tokens.
  const sample = [...tokens.keys()].sort(() => Math.random() - 0.5).slice(0, 300);
  const answers = await Promise.all(sample.map(status));
  const wrong = sample.filter((t, i) => answers[i]?.json.status !== expected(t));
  if (wrong.length) violations.push(`status route disagrees with the stores for ${wrong.length} of ${sample.length} tokens`);
  // I5: tokens are 128 random bits, base64url, unique.
  const bad = [...tokens.keys()].filter((t) => !/^[A-Za-z0-9_-]{22}\.[1-9][0-9]*$/.test(t) || Buffer.from(t.slice(0, 22), 'base64url').length !== 16);
  if (bad.length) violations.push(`I5: ${bad.length} malformed tokens`);
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
