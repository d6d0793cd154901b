// Stops what with-services started (its command, then the private Redis and PostgreSQL) once
// with-services closes this process's stdin: when it is done, and when it dies by any signal.
//
// with-services could stop them itself on its way out, but not when killed with SIGKILL: no handler
// runs then, and the command, redis-server and PostgreSQL all live in sessions of their own, so
// nothing else ends them. The kernel closes this pipe however with-services ends. A pipe rather
// than an IPC channel: a line written before with-services died is still read, even if it came
// while this process was loading.
//
// Protocol: each line on stdin is the JSON list of what runs (Target[]), in the order it started;
// it is stopped in reverse, so that the command has shut down before the databases go.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

export type Target =
  /** Sent `signal` (with `group`, its whole process group: the command's), then waited for. */
  | { name: string; pid: number; group?: boolean; signal: NodeJS.Signals }
  /** A program that stops a service and waits until it has (pg_ctl stop), run as uid and gid. */
  | { name: string; run: string[]; uid?: number; gid?: number };

// Time to finish requests and batches in flight, as a supervisor would give; then SIGKILL.
const GRACE_MS = 30_000;

const say = (line: string) => process.stderr.write(`with-services: ${line}\n`);

/** process.kill without the throw: false when no such process (group) is left. */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the process still runs. A zombie does not: once with-services is dead, its children are
 * reaped by init, which in a container may take seconds or never happen.
 */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'; // the state follows the parenthesised name
  } catch {
    return signal(pid, 0); // no /proc (macOS), or no such process
  }
}

async function stop(target: Target): Promise<void> {
  if ('run' in target) {
    const [file, ...args] = target.run as [string, ...string[]];
    const proc = spawn(file, args, { uid: target.uid, gid: target.gid, stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    proc.stderr.on('data', (chunk) => (output += chunk));
    const [code] = (await once(proc, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`${output.trim()} (exit ${code})`);
    return;
  }
  const recipient = target.group ? -target.pid : target.pid;
  if (!signal(recipient, target.signal)) return;
  for (const deadline = Date.now() + GRACE_MS; Date.now() < deadline; await delay(100)) {
    if (!running(target.pid)) return;
  }
  say(`${target.name} did not stop within ${GRACE_MS / 1000} s of ${target.signal}; sending SIGKILL`);
  signal(recipient, 'SIGKILL');
}

let targets: Target[] = [];
createInterface({ input: process.stdin })
  .on('line', (line) => (targets = JSON.parse(line) as Target[]))
  .on('close', async () => {
    for (const target of targets.reverse()) {
      await stop(target).catch((err: Error) => say(`could not stop ${target.name}: ${err.message}`));
    }
  });
