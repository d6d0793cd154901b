// Waiting for a condition, for tests, benchmarks and the soak alike: one poll loop whose timeout
// says what it waited for and what it saw last.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions<T> {
  /** Fails after this long (default 15 s); with `progress`, after this long without progress. */
  timeoutMs?: number;
  /** Between two checks (default 25 ms). */
  intervalMs?: number;
  /** The value is ready when this says so; without it, when it is neither undefined nor false. */
  until?: (value: T) => boolean;
  /** A figure that moves while the awaited thing advances: a long wait that keeps moving is no stall. */
  progress?: () => number;
  /** What else a timeout's message should say (a process's last output, a server's log), read then. */
  explain?: () => string;
}

/**
 * Polls `check` until its value is ready and resolves with that value. On timeout it fails with
 * `what`, and the last value seen when `until` judged it. An error thrown by `check` fails at once.
 */
export async function waitFor<T>(
  what: string, check: () => T | Promise<T>, options: WaitOptions<T> & { until: (value: T) => boolean },
): Promise<T>;
export async function waitFor<T>(
  what: string, check: () => T | Promise<T>, options?: WaitOptions<T>,
): Promise<Exclude<T, undefined | false>>;
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: WaitOptions<T> = {}): Promise<T> {
  const { timeoutMs = 15_000, intervalMs = 25, until, progress, explain } = options;
  const ready = until ?? ((value: T) => value !== undefined && value !== false);
  let lastMove = Date.now();
  let moved = progress?.();
  for (;;) {
    const value = await check();
    if (ready(value)) return value;
    const now = progress?.();
    if (now !== moved) {
      moved = now;
      lastMove = Date.now();
    }
    if (Date.now() - lastMove > timeoutMs) {
      const seen = until ? `; last seen: ${shown(value)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms${progress ? ' without progress' : ''} waiting for ${what}${seen}`
        + (explain ? `:\n${explain()}` : ''));
    }
    await delay(intervalMs);
  }
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
