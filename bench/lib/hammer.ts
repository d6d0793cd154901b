// Closed-loop load with autocannon: N connections, each sending its next request as soon as the
// previous one is answered, for a fixed time. The measure of how much a route can serve.
import autocannon, { type Result } from 'autocannon';
import type { Progress } from './progress.ts';

export interface HammerOptions {
  url: string;
  method: 'GET' | 'POST';
  /** Called for every request: its path and body, so that each request can differ (distinct users). */
  next(): { path: string; body?: string };
  connections: number;
  seconds: number;
  label: string;
  progress: Progress;
}

export interface HammerResult {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
  /** Replies that were not 2xx, plus connection errors and timeouts. */
  failed: number;
}

export async function hammer(o: HammerOptions): Promise<HammerResult> {
  const headers = o.method === 'POST' ? { 'content-type': 'application/json' } : undefined;
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    timeout: 10,
    requests: [{
      method: o.method,
      headers,
      setupRequest: (req) => ({ ...req, ...o.next() }),
    }],
  });
  const started = Date.now();
  let count = 0;
  instance.on('tick', ({ counter }: { counter: number }) => {
    count += counter;
    const elapsed = (Date.now() - started) / 1000;
    o.progress.update(`${o.label}: ${elapsed.toFixed(0)}/${o.seconds} s, ${Math.round(count / elapsed).toLocaleString('en-US')} req/s`);
  });
  const r: Result = await instance;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    total: r.requests.total,
    failed: r.non2xx + r.errors + r.timeouts,
  };
}
