// An organiser's webhook endpoint on this machine, for tests and benchmarks: records every request
// (its Standard Webhooks headers, body, arrival and how many requests for the same event were in
// flight at once), checks each signature with the standardwebhooks verifier, and answers what the
// test says (a status, after a delay, or never).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  type: string;
  data: Record<string, unknown>;
  /** The signature verified with the endpoint's secret (false before the secret is set, or when it fails). */
  verified: boolean;
  receivedAt: number;
  /** Requests for this webhook-id in flight here when this one arrived, itself included. */
  concurrent: number;
}

/** How to answer one request: a status after `delayMs`, or no answer at all (`hang`) until close(). */
export type Answer = { status: number; delayMs?: number; headers?: Record<string, string> } | 'hang';

export interface WebhookReceiver {
  url: string;
  /** Set once the endpoint is registered: from then on every signature is checked. */
  secret?: string;
  /** Every request, in arrival order (also those answered with an error). */
  readonly requests: ReceivedWebhook[];
  /** Decides each answer; 200 at once by default. */
  answer: (req: ReceivedWebhook) => Answer;
  /** The webhook-ids answered 2xx. */
  delivered(): Set<string>;
  /** The most requests for one webhook-id that were in flight at once. */
  maxConcurrentPerId(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const inFlight = new Map<string, number>();
  const ok = new Set<string>();
  const hanging = new Set<http.ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    requests: [],
    answer: () => ({ status: 200 }),
    delivered: () => new Set(ok),
    maxConcurrentPerId: () => Math.max(0, ...receiver.requests.map((r) => r.concurrent)),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const payload = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      let verified = false;
      if (receiver.secret) {
        try {
          new Webhook(receiver.secret).verify(body, req.headers as Record<string, string>);
          verified = true;
        } catch {
          verified = false;
        }
      }
      const concurrent = (inFlight.get(id) ?? 0) + 1;
      inFlight.set(id, concurrent);
      const seen: ReceivedWebhook = {
        id, timestamp: Number(req.headers['webhook-timestamp']), type: payload.type, data: payload.data, verified, receivedAt: Date.now(), concurrent,
      };
      receiver.requests.push(seen);
      const done = () => inFlight.set(id, inFlight.get(id)! - 1);
      const answer = receiver.answer(seen);
      if (answer === 'hang') {
        hanging.add(res);
        res.once('close', done);
        return;
      }
      setTimeout(() => {
        done();
        if (answer.status >= 200 && answer.status < 300) ok.add(id);
        res.writeHead(answer.status, answer.headers).end();
      }, answer.delayMs ?? 0);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
