// A private PostgreSQL for tests that stop and start the database, which they must never do to
// the shared one. It runs as with-services runs its own (support/embedded-postgres.ts): as root, as
// the OS user postgres, with binaries it can reach, its cluster in a temp folder that user may enter.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initCluster, postgresPlaces, postgresUser, startCluster, stopCluster, stopCommand } from '../../support/embedded-postgres.ts';
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

// pg_ctl gives the server a session of its own, so it outlives a test file that ends without
// close(); this stops what is still running when the file's process exits.
const live = new Set<() => void>();
process.once('exit', () => {
  for (const abandon of live) abandon();
});

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  // /tmp lets every user through, and this folder lets the OS user postgres in to its cluster.
  const parent = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-pg-'));
  chmodSync(parent, 0o755);
  const runAs = postgresUser();
  const { bin, cluster } = await postgresPlaces(parent, runAs);
  const remove = () => {
    rmSync(cluster, { recursive: true, force: true }); // outside parent when postgres could not reach it
    rmSync(parent, { recursive: true, force: true });
  };
  await initCluster(bin, cluster, new URL(`postgres://postgres:postgres@127.0.0.1:${port}`), runAs).catch((err: unknown) => {
    remove();
    throw err;
  });
  const abandon = () => {
    try {
      pg.thaw(); // a frozen server would not hear the stop
    } catch {
      // no postmaster.pid: the server has ended by itself
    }
    const [file, ...args] = stopCommand(bin, cluster, 'immediate') as [string, ...string[]];
    spawnSync(file, args, { ...runAs, stdio: 'ignore' });
    remove();
  };
  let running = false;
  const pg: PrivatePostgres = {
    port,
    url: (database) => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return running;
    },
    async start() {
      if (running) return;
      await startCluster(bin, cluster, port, runAs, ['fsync=off']).catch((err: Error) => {
        throw new Error(`private PostgreSQL did not start: ${err.message}`);
      });
      running = true;
      live.add(abandon);
    },
    async stop() {
      if (!running) return;
      await stopCluster(bin, cluster, runAs);
      running = false;
      live.delete(abandon);
    },
    freeze() {
      // The postmaster first, so that no backend is forked while the others are being stopped.
      const [postmaster, ...backends] = serverPids(cluster);
      process.kill(postmaster!, 'SIGSTOP');
      for (const pid of [...backends, ...serverPids(cluster).slice(1)]) process.kill(pid, 'SIGSTOP');
    },
    thaw() {
      for (const pid of serverPids(cluster)) process.kill(pid, 'SIGCONT');
    },
    async close() {
      await pg.stop();
      remove();
    },
  };
  await pg.start();
  return pg;
}
