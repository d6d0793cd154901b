// A private redis-server for tests that stop, kill or restart Redis (never the shared one), and for
// the benchmark of what persistence costs a join. AOF is on with `appendfsync always` by default,
// so that every acknowledged write survives even kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';

export interface RedisServerOptions {
  appendfsync?: 'always' | 'everysec' | 'no';
  /** false: no persistence at all, as a cache-only Redis. */
  appendonly?: boolean;
}

export interface RedisServer {
  port: number;
  url: string;
  /** The data directory (AOF files), removed by close(). */
  dir: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash); resolves once the process is gone. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  restart(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** SIGSTOP: the server hangs, connections stay open and nothing is answered; thaw() resumes it. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** Starts redis-server on a free port and resolves once it accepts connections. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', options.appendonly === false ? 'no' : 'yes',
    '--appendfsync', options.appendfsync ?? 'always',
  ];
  let child: ChildProcess | undefined;

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) return;
      const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const ready = new Promise<void>((resolve, reject) => {
        proc.stdout!.on('data', (chunk: Buffer) => {
          output += chunk;
          if (output.includes('Ready to accept connections')) resolve();
        });
        proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
      });
      proc.stderr!.resume();
      child = proc;
      proc.once('exit', () => {
        if (child === proc) child = undefined;
      });
      await ready;
    },
    async stop(signal = 'SIGTERM') {
      const proc = child;
      if (!proc) return;
      const exited = once(proc, 'exit');
      proc.kill(signal);
      await exited;
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async restart(signal = 'SIGTERM') {
      await server.stop(signal);
      await server.start();
    },
    async close() {
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
