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
  /**
   * Runs `fn` in one transaction on one client: COMMIT on success. On a throw the connection is
   * closed instead of rolled back: after a timeout it may still be busy with the statement, and
   * PostgreSQL rolls back a transaction whose connection ends.
   */
  withTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /**
   * When a statement sent now should no longer take effect: a little before its timeout, after
   * which the caller has answered 503. A statement cannot be taken back once sent, and one that a
   * hung server runs late (a confirm, a cancel) would change what the buyer was told had failed.
   * Null without a timeout. For `statement_timestamp() < $n` in a WHERE clause.
   */
  deadline(): Date | null;
  close(): Promise<void>;
}

export interface DbOptions {
  /** Connections in the pool. */
  max?: number;
  /**
   * The longest wait for a connection and for each statement's reply (DATABASE_TIMEOUT_MS), so
   * that a hung server costs a request a bounded wait; none for migrations, which may be long.
   */
  timeoutMs?: number;
}

export function createDb(connectionString: string, log: Logger, { max = 10, timeoutMs }: DbOptions = {}): Db {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: timeoutMs ?? 5_000, query_timeout: timeoutMs });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL client failed'));
  const onLost = (err: Error) => log.warn({ err: err.message }, 'PostgreSQL connection lost mid-transaction');
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
      // A connection lost between two statements is emitted as an 'error' on the client, which the
      // pool listens to only while the client is idle: unheard, it would end the process. The next
      // statement fails with it, and the transaction with that.
      client.on('error', onLost);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        client.off('error', onLost);
        client.release();
        return result;
      } catch (err) {
        client.off('error', onLost);
        client.release(err as Error);
        throw err;
      }
    },
    deadline: () => (timeoutMs ? new Date(Date.now() + timeoutMs - Math.min(250, timeoutMs / 4)) : null),
    close: () => pool.end(),
  };
}
