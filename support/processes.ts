// Real boxoffice processes (`node --import tsx src/main.ts`) for tests, benchmarks and the soak:
// ROLE=api|worker|all with a given environment, each on a port of its own, ready once /healthz
// answers (every role listens, and main.ts listens only once its engine runs); kill -9 or a
// graceful stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CONFIG_KEYS, type Config } from '../src/config.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const live = new Set<ChildProcess>();
// A run that fails half-way must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

// Start-up compiles the TypeScript sources; on a loaded 2-core machine that has taken over 15 s.
const STARTUP_MS = 60_000;
// Set per process by spawnBoxoffice, whatever the configuration copied from says.
const OWN_KEYS = new Set<string>(['LOG_LEVEL', 'PORT', 'HOST', 'ROLE']);
// freePort's port may be taken before the child listens on it; a start gets this many ports.
const PORT_ATTEMPTS = 3;

export type Role = 'all' | 'api' | 'worker';

export interface SpawnOptions {
  role: Role;
  /** On top of this process's environment. LOG_LEVEL defaults to info; PORT and HOST are the kit's. */
  env?: Record<string, string>;
  /** Appends stdout and stderr to this file (nothing passes through this process) instead of `lines`. */
  logFile?: string;
  /** Node flags after tsx's loader, before the script: a preloaded probe, --cpu-prof. */
  nodeArgs?: string[];
  /** Another entry point than src/main.ts (it must answer GET /healthz on PORT). */
  script?: string;
  /** Opens an IPC channel: `child.send()` and its 'message' events. */
  ipc?: boolean;
}

export interface BoxofficeProcess {
  readonly pid: number;
  readonly role: Role;
  /** http://127.0.0.1:<port>: the API, or a worker's health and metrics. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Every line written to stdout and stderr so far (pino writes one JSON object per line); empty with a logFile. */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** Resolves once /healthz answers; rejects, with the last lines of output, on exit or timeout. */
  ready(timeoutMs?: number): Promise<void>;
  /** The last lines of output, for error messages. */
  tail(count?: number): string;
  /** SIGKILL: the process gets no chance to finish anything. */
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the graceful shutdown (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The environment that makes a child process use exactly this configuration, except LOG_LEVEL (the
 * child logs at info unless told otherwise, whatever level the caller logs at), PORT, HOST and ROLE.
 */
export function configEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of CONFIG_KEYS) if (!OWN_KEYS.has(key)) env[key] = String(config[key]);
  return env;
}

/** Starts a process and resolves once it answers; see spawnBoxoffice. */
export async function startBoxoffice(options: SpawnOptions, timeoutMs = STARTUP_MS): Promise<BoxofficeProcess> {
  for (let attempt = 1; ; attempt++) {
    const proc = await spawnBoxoffice(options);
    try {
      await proc.ready(timeoutMs);
      return proc;
    } catch (err) {
      const portTaken = !proc.running && proc.tail().includes('EADDRINUSE');
      await proc.kill9();
      if (!portTaken || attempt === PORT_ATTEMPTS) throw err;
    }
  }
}

/** Spawns `src/main.ts` (or `options.script`) on a free port, without waiting for it. */
export async function spawnBoxoffice(options: SpawnOptions): Promise<BoxofficeProcess> {
  const { role, logFile } = options;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = logFile === undefined ? undefined : openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', ...(options.nodeArgs ?? []), options.script ?? 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...options.env, ROLE: role, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', log ?? 'pipe', log ?? 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
  });
  if (log !== undefined) closeSync(log);
  live.add(child);
  const lines: string[] = [];
  let exitedFlag = false;
  // 'close', not 'exit': by then every line of output has been read (an error message included).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      exitedFlag = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  child.once('error', (err) => lines.push(`spawn failed: ${err.message}`));
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    });
  }

  const proc: BoxofficeProcess = {
    pid: child.pid ?? 0,
    role,
    url,
    child,
    lines,
    exited,
    get running() {
      return !exitedFlag;
    },
    async ready(timeoutMs = STARTUP_MS) {
      const what = `the ${role} process ${proc.pid} to answer on ${url}`;
      await waitFor(what, async () => exitedFlag || answers(url), { timeoutMs, intervalMs: 50, explain: () => proc.tail() });
      if (exitedFlag) {
        const { code, signal } = await exited;
        throw new Error(`the ${role} process ${proc.pid} exited (${signal ?? code}) before it answered on ${url}:\n${proc.tail()}`);
      }
    },
    tail(count = 20) {
      const text = logFile === undefined ? lines.join('\n') : existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      return text.trimEnd().split('\n').slice(-count).join('\n');
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

/** Kills every process spawned here that still runs (for an after() hook). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((child) => {
    const exited = once(child, 'close');
    child.kill('SIGKILL');
    return exited;
  }));
}

/** Any HTTP answer on /healthz: the process listens. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/healthz`, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
