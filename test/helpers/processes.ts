// Real boxoffice processes (`node --import tsx src/main.ts`) for tests that need separate processes:
// ROLE=api|worker|all with a given environment, kill -9, waiting for a log line or the port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { CONFIG_KEYS, type Config } from '../../src/config.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const live = new Set<ChildProcess>();
// A test that fails half-way must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

// Start-up compiles the TypeScript sources; on a loaded 2-core machine that has taken over 15 s.
const STARTUP_MS = 60_000;
const OWN_KEYS = new Set<string>(['LOG_LEVEL', 'PORT', 'HOST']);

export type LineMatch = RegExp | ((line: string) => boolean);

export interface BoxofficeProcess {
  readonly pid: number;
  /** Every line written to stdout and stderr so far (pino writes one JSON object per line). */
  readonly lines: string[];
  /** The base URL once an API process has logged that it listens. */
  url?: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** Resolves with the first line at index >= `from` that matches; rejects on timeout or exit. */
  waitForLine(match: LineMatch, options?: { timeoutMs?: number; from?: number }): Promise<string>;
  /** SIGKILL: the process gets no chance to finish anything. */
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the graceful shutdown (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The environment that makes a child process use exactly this configuration, except LOG_LEVEL (the
 * helpers here wait for info lines, whatever level the test process logs at) and PORT and HOST
 * (each server gets its own free port).
 */
export function configEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of CONFIG_KEYS) if (!OWN_KEYS.has(key)) env[key] = String(config[key]);
  return env;
}

/** Spawns `src/main.ts` with `env` on top of this process's environment; LOG_LEVEL defaults to info. */
export function spawnBoxoffice(env: Record<string, string>): BoxofficeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(child);
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      if (!parts.length) return;
      lines.push(...parts);
      for (const listener of listeners) listener();
    });
  }

  const proc: BoxofficeProcess = {
    pid: child.pid!,
    lines,
    exited,
    get running() {
      return !exitedFlag;
    },
    waitForLine(match, { timeoutMs = 15_000, from = 0 } = {}) {
      const test = typeof match === 'function' ? match : (line: string) => match.test(line);
      let next = from;
      return new Promise((resolve, reject) => {
        const done = (fn: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        const tail = () => lines.slice(-20).join('\n');
        const check = () => {
          for (; next < lines.length; next++) {
            if (test(lines[next]!)) return done(() => resolve(lines[next]!));
          }
          if (exitedFlag) done(() => reject(new Error(`process ${child.pid} exited before a line matched ${match}:\n${tail()}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no line matched ${match} within ${timeoutMs} ms:\n${tail()}`))),
          timeoutMs,
        );
        listeners.add(check);
        check();
      });
    },
    async kill9() {
      if (exitedFlag) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 10_000) {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return proc;
}

/** A worker process (ROLE=worker; health and metrics on a free port), resolved once its engine runs. */
export async function startWorker(env: Record<string, string>): Promise<BoxofficeProcess> {
  const proc = spawnBoxoffice({ PORT: '0', HOST: '127.0.0.1', ...env, ROLE: 'worker' });
  await proc.waitForLine(/"worker running/, { timeoutMs: STARTUP_MS });
  return proc;
}

/** An API process (ROLE=api unless `env` says all) on a free port, resolved once it listens; see `url`. */
export async function startServer(env: Record<string, string>): Promise<BoxofficeProcess & { url: string }> {
  const proc = spawnBoxoffice({ ROLE: 'api', ...env, PORT: env.PORT ?? '0', HOST: '127.0.0.1' });
  const line = await proc.waitForLine(/listening on http:\/\//, { timeoutMs: STARTUP_MS });
  proc.url = /listening on (http:\/\/[^"\s]+)/.exec(line)![1];
  return proc as BoxofficeProcess & { url: string };
}

/** Kills every process spawned here that still runs (for an after() hook). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((child) => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    return exited;
  }));
}
