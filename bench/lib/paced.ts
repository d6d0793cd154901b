// An open-loop load generator: sends requests at a fixed rate whatever the replies do, and records
// when each reply arrived. autocannon's own rate limit sends each second's quota in one burst, which
// would measure the burst rather than the latency of a steady stream. A refused request may be sent
// again later (`retryAfter`), as a buyer's page does after a 503 with Retry-After.
import http from 'node:http';
import { epochMs } from './stats.ts';

export interface PacedReply {
  index: number;
  status: number;
  body: string;
  sentAt: number;
  repliedAt: number;
}

export interface PacedOptions {
  url: string;
  path: string;
  /** Requests per second. */
  rate: number;
  count: number;
  /** Most requests in flight (keep-alive connections). */
  connections: number;
  body(index: number): string;
  onReply?(reply: PacedReply): void;
  /**
   * For a reply that is not 2xx: milliseconds until the same request is sent again, or undefined
   * to give up on it. A request is answered (and counted in `count`) by its last reply.
   */
  retryAfter?(reply: PacedReply, headers: http.IncomingHttpHeaders): number | undefined;
  onProgress?(sent: number, answered: number): void;
}

export interface PacedResult {
  sent: number;
  ok: number;
  /** Requests whose last reply was not 2xx, or that got no reply. */
  failed: number;
  /** Replies that were followed by another attempt. */
  retried: number;
  firstSentAt: number;
  lastRepliedAt: number;
  /** Client-side latency of every 2xx reply, milliseconds, sorted. */
  latencies: number[];
  /** Client-side latency of every 503 reply (each attempt's own), milliseconds, sorted. */
  refusedLatencies: number[];
}

export function paced(o: PacedOptions): Promise<PacedResult> {
  const { hostname, port } = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const result: PacedResult = { sent: 0, ok: 0, failed: 0, retried: 0, firstSentAt: 0, lastRepliedAt: 0, latencies: [], refusedLatencies: [] };
  let answered = 0;

  return new Promise((resolve) => {
    if (o.count === 0) return resolve(result);
    const finish = () => {
      answered++;
      if (answered === o.count) {
        agent.destroy();
        result.latencies.sort((a, b) => a - b);
        result.refusedLatencies.sort((a, b) => a - b);
        resolve(result);
      }
    };
    const fire = (index: number) => {
      const payload = o.body(index);
      const sentAt = epochMs();
      result.firstSentAt ||= sentAt;
      const req = http.request({
        agent, hostname, port, path: o.path, method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const repliedAt = epochMs();
          const status = res.statusCode ?? 0;
          result.lastRepliedAt = repliedAt;
          const reply = { index, status, body, sentAt, repliedAt };
          if (status === 503) result.refusedLatencies.push(repliedAt - sentAt);
          o.onReply?.(reply);
          if (status >= 200 && status < 300) {
            result.ok++;
            result.latencies.push(repliedAt - sentAt);
            return finish();
          }
          const delay = o.retryAfter?.(reply, res.headers);
          if (delay === undefined) {
            result.failed++;
            return finish();
          }
          result.retried++;
          setTimeout(() => fire(index), delay);
        });
      });
      req.on('error', () => {
        result.failed++;
        finish();
      });
      req.end(payload);
    };

    const started = performance.now();
    // A 1 ms timer: each tick sends whatever the schedule says is due, so the rate holds even when
    // the timer fires late.
    const timer = setInterval(() => {
      const due = Math.min(o.count, Math.floor(((performance.now() - started) * o.rate) / 1000) + 1);
      while (result.sent < due) fire(result.sent++);
      o.onProgress?.(result.sent, answered);
      if (result.sent === o.count) clearInterval(timer);
    }, 1);
  });
}
