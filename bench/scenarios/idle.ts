// Scenario 10, idle: many lines whose head waits for stock to come back (all of it held, one buyer
// waiting behind), and no joins. What the system spends on them while nothing changes: Redis
// commands and PostgreSQL transactions per second, from the server's own counters (bench/probe.ts)
// and from Redis's and PostgreSQL's (INFO stats, pg_stat_database), beside the same server with no
// lines at all, measured first in the same run. Expected: what the empty system spends (the
// sweeper's and the processor's periodic looks), whatever the number of waiting lines.
import { createEvent, createTicketType } from '../../src/db/catalog.ts';
import type { BenchEnv, ServerProcess } from '../env.ts';
import { waitFor } from '../../support/wait.ts';
import { cpuSeconds } from '../lib/cpu.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt, round } from '../lib/stats.ts';

export interface IdleOptions {
  lines: number;
  /** How long nothing happens while it is measured. */
  seconds: number;
}

/** Per second, beyond what the same system spends with no lines: "close to zero". */
const TARGET_EXTRA_PER_SECOND = 1;
/** Ticket types created at once. */
const CHUNK = 50;
/** Lines filled, then admitted, at once. */
const FILL_CHUNK = 100;

async function redisStats(env: BenchEnv): Promise<{ commands: number; byCommand: Map<string, number> }> {
  const [stats, commandstats] = [await env.ctx.redis.info('stats'), await env.ctx.redis.info('commandstats')];
  const byCommand = new Map<string, number>();
  for (const [, name, calls] of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) byCommand.set(name!, Number(calls));
  return { commands: Number(/total_commands_processed:(\d+)/.exec(stats)![1]), byCommand };
}

async function pgStats(env: BenchEnv): Promise<{ commits: number; rows: number }> {
  await env.ctx.db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await env.ctx.db.query<{ xact_commit: string; tup_returned: string }>(
    'SELECT xact_commit, tup_returned FROM pg_stat_database WHERE datname = current_database()',
  );
  return { commits: Number(rows[0]!.xact_commit), rows: Number(rows[0]!.tup_returned) };
}

interface Window {
  seconds: number;
  /** The server's own: Redis socket writes and SQL statements (bench/probe.ts). */
  redisRoundTrips: number;
  sqlStatements: number;
  /** The whole Redis instance (INFO stats), our own INFO calls left out. */
  redisCommands: number;
  /** The bench database (pg_stat_database), our own reads left out. */
  pgTransactions: number;
  pgRowsRead: number;
  /** The server's CPU, milliseconds per second. */
  cpuMs: number;
  /** The server's Redis writes and SQL statements since it started: the probe counts. */
  probeTotals: { redisWrites: number; sql: number };
  redisCommandsInWindow: Record<string, number>;
}

/** What the server and the services do over `seconds` of nothing, per second. */
async function measure(env: BenchEnv, server: ServerProcess, seconds: number, onSecond: (s: number) => void): Promise<Window> {
  const sample = async () => ({
    probe: await server.counters(), cpu: cpuSeconds(server.pid), redis: await redisStats(env), pg: await pgStats(env), at: performance.now(),
  });
  const before = await sample();
  for (let s = 0; s < seconds; s++) {
    onSecond(s);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const after = await sample();
  const elapsed = (after.at - before.at) / 1000;
  const per = (n: number) => round(n / elapsed, 2);
  return {
    seconds: round(elapsed, 2),
    redisRoundTrips: per(after.probe.redisWrites - before.probe.redisWrites),
    sqlStatements: per(after.probe.sql - before.probe.sql),
    // Ours: INFO stats and INFO commandstats; pg_stat_clear_snapshot and the read of pg_stat_database.
    redisCommands: per(after.redis.commands - before.redis.commands - 2),
    pgTransactions: per(after.pg.commits - before.pg.commits - 2),
    pgRowsRead: per(after.pg.rows - before.pg.rows),
    cpuMs: per((after.cpu - before.cpu) * 1000),
    probeTotals: after.probe,
    redisCommandsInWindow: Object.fromEntries([...after.redis.byCommand]
      .map(([name, calls]) => [name, calls - (before.redis.byCommand.get(name) ?? 0)] as const)
      .filter(([, calls]) => calls > 0)
      .sort((a, b) => b[1] - a[1])),
  };
}

export const idle = defineScenario({
  name: 'idle',
  title: '10 idle lines',
  full: { lines: 10_000, seconds: 30 },
  smoke: { lines: 100, seconds: 3 },
  async run(env, o: IdleOptions, progress) {
    const { db, redis } = env.ctx;
    // Holds that outlast the measurement: their expiry would be a change.
    const start = (name: string) => env.startServer({ name, role: 'all', probe: true, env: { RESERVATION_TTL_SECONDS: '86400' } });
    let server = await start('idle-empty');
    const ids: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 2_000));
      const empty = await measure(env, server, o.seconds, (s) => progress.update(`idle: the system with no lines, ${s}/${o.seconds} s`));
      await server.stop();

      // Each line: one ticket, held by its first buyer; its second buyer waits for it to come back.
      // The ticket types are made while no server runs: the server that starts finds them all in
      // one query.
      const event = await createEvent(db, { name: 'Idle benchmark', currency: env.config.DEFAULT_CURRENCY, starts_at: new Date(Date.now() + 86_400_000).toISOString() });
      for (let i = 0; i < o.lines; i += CHUNK) {
        const made = await Promise.all(Array.from({ length: Math.min(CHUNK, o.lines - i) }, () =>
          createTicketType(db, event.id, { name: 'Idle', price: '10.00', capacity: 1, max_per_order: 1 })));
        ids.push(...made.map((t) => t!.id));
        progress.update(`idle: ${fmt(ids.length)}/${fmt(o.lines)} ticket types`);
      }
      server = await start('idle');
      // A chunk at a time, each admitted before the next, so that the count of holds says when every
      // line of the chunk has granted its ticket.
      const held = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM reservations WHERE status = 'reserved'`)).rows[0]!.n);
      for (let i = 0; i < ids.length; i += FILL_CHUNK) {
        const chunk = ids.slice(i, i + FILL_CHUNK);
        const joins = chunk.flatMap((id) => ['first', 'second'].map((who) => env.ctx.lines.join(id, { userId: `${who}-${id}`, quantity: 1 })));
        for (const joined of await Promise.all(joins)) if (joined.kind !== 'joined') throw new Error(`idle: join answered ${joined.kind}`);
        await waitFor('the chunk\'s lines to grant their one ticket', async () => {
          const n = await held();
          progress.update(`idle: ${fmt(n)}/${fmt(o.lines)} lines hold their ticket and have a buyer waiting`);
          return n === i + chunk.length;
        }, { timeoutMs: 60_000, intervalMs: 50 });
      }
      const waiting = (await Promise.all(ids.map((id) => redis.llen(env.ctx.keys.line(id).queue)))).reduce((a, b) => a + b, 0);
      if (waiting !== o.lines) throw new Error(`idle: ${waiting} buyers wait in ${o.lines} lines, expected one each`);
      // The processor parks a line once it has found its head waiting; give it a moment.
      await new Promise((r) => setTimeout(r, 2_000));
      const lines = await measure(env, server, o.seconds, (s) => progress.update(`idle: ${fmt(o.lines)} waiting lines, ${s}/${o.seconds} s`));

      const extraRoundTrips = lines.redisRoundTrips - empty.redisRoundTrips;
      const extraStatements = lines.sqlStatements - empty.sqlStatements;
      return {
        rows: [
          {
            measure: `${fmt(o.lines)} lines whose head waits for stock, no joins, ${o.seconds} s: server's Redis round trips/s`,
            value: fmt(lines.redisRoundTrips, 2),
            beside: `with no lines ${fmt(empty.redisRoundTrips, 2)}; Redis commands/s, whole instance (shared: others count too) ${fmt(lines.redisCommands, 2)}`,
            target: `<= ${TARGET_EXTRA_PER_SECOND} more`,
            met: extraRoundTrips <= TARGET_EXTRA_PER_SECOND,
          },
          {
            measure: 'server\'s SQL statements/s',
            value: fmt(lines.sqlStatements, 2),
            beside: `with no lines ${fmt(empty.sqlStatements, 2)}; transactions/s in the bench database ${fmt(lines.pgTransactions, 2)} (no lines ${fmt(empty.pgTransactions, 2)})`,
            target: `<= ${TARGET_EXTRA_PER_SECOND} more`,
            met: extraStatements <= TARGET_EXTRA_PER_SECOND,
          },
          {
            measure: 'server CPU (ms per second)',
            value: fmt(lines.cpuMs, 1),
            beside: `with no lines ${fmt(empty.cpuMs, 1)}`,
          },
          {
            measure: 'PostgreSQL rows read/s (pg_stat_database tup_returned)',
            value: fmt(lines.pgRowsRead),
            beside: `with no lines ${fmt(empty.pgRowsRead)}`,
          },
        ],
        data: { options: o, empty, lines },
      };
    } finally {
      await server.stop();
      // The lines' keys go with the run's key prefix (env.close); it runs last, so no later scenario sees them.
      if (ids.length) await db.query('DELETE FROM reservations WHERE ticket_type_id = ANY($1)', [ids]);
    }
  },
});
