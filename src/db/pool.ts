// The one place that talks to PostgreSQL. Logs statement names and timings, never parameters.
import pg from 'pg';
import type { Logger } from 'pino';

// numeric and bigint stay strings in pg by default; ids fit in a JS number, prices stay decimal strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface Db extends Queryable {
  pool: pg.Pool;
  /** Runs `fn` in one transaction on one client: COMMIT on success, ROLLBACK on throw. */
  withTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createDb(connectionString: string, log: Logger, max = 10): Db {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL client failed'));
  return {
    pool,
    async query(text, values) {
      const started = performance.now();
      const result = await pool.query(text, values);
      if (log.isLevelEnabled('trace')) {
        log.trace({ sql: text.slice(0, 80), ms: performance.now() - started, rows: result.rowCount }, 'query');
      }
      return result;
    },
    async withTransaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
