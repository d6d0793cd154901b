// Driving a small sale through the HTTP API (app.inject), for the operations tests.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../src/context.ts';
import { lineCounters } from '../../support/invariants.ts';
import type { TicketTypeStats } from '../../src/domain/figures.ts';
import { waitFor } from '../../support/wait.ts';

export const ADMIN = { authorization: 'Bearer test-admin-token' };

export async function join(app: FastifyInstance, ticketTypeId: number, userId: string, quantity = 1): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/queue/join', payload: { user_id: userId, ticket_type_id: ticketTypeId, quantity } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().queue_token;
}

/** Buyers join one after the other: the returned tokens are in line order. */
export async function joinInOrder(app: FastifyInstance, ticketTypeId: number, count: number, prefix: string): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(await join(app, ticketTypeId, `${prefix}-${i}`));
  return tokens;
}

export async function status(app: FastifyInstance, token: string): Promise<string> {
  const res = await app.inject(`/reservation/status?token=${encodeURIComponent(token)}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().status;
}

export const waitForStatus = (app: FastifyInstance, token: string, wanted: string, timeoutMs = 10_000) =>
  waitFor(`status ${wanted}`, () => status(app, token), { until: (seen) => seen === wanted, timeoutMs });

export async function post(app: FastifyInstance, url: string, payload?: object) {
  return app.inject({ method: 'POST', url, headers: ADMIN, ...(payload ? { payload } : {}) });
}

/** A row of GET /admin/stats. */
export type StatsRow = TicketTypeStats;

export async function stats(app: FastifyInstance): Promise<Map<number, StatsRow>> {
  const res = await app.inject({ method: 'GET', url: '/admin/stats', headers: ADMIN });
  assert.equal(res.statusCode, 200, res.body);
  return new Map(res.json().ticket_types.map((t: StatsRow) => [t.id, t]));
}

export interface JoinStorm {
  /** Tokens of the joins answered 202, in the order the answers came. */
  acknowledged: string[];
  /** Every other answer, counted by `<status> <error code>` (`network <message>: <cause>` when none came). */
  refused: Map<string, number>;
  /** Stops the clients once their joins in flight are answered. */
  stop(): Promise<void>;
  /** Fails unless every refusal was a 503 (the join did not run), with the server's first errors. */
  assertOnlyUnavailable(serverLines: string[]): void;
}

/** `clients` buyers at a time join ticket type `ticketTypeId` through a server's HTTP API, each a new user, until stopped. */
export function joinStorm(url: string, ticketTypeId: number, clients: number): JoinStorm {
  const acknowledged: string[] = [];
  const refused = new Map<string, number>();
  const count = (answer: string) => refused.set(answer, (refused.get(answer) ?? 0) + 1);
  let stopped = false;
  let n = 0;
  const client = async () => {
    while (!stopped) {
      const body = JSON.stringify({ user_id: `buyer-${n++}`, ticket_type_id: ticketTypeId });
      try {
        const res = await fetch(`${url}/queue/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const answer = await res.json() as { queue_token?: string; error?: { code: string } };
        if (res.status === 202) acknowledged.push(answer.queue_token!);
        else count(`${res.status} ${answer.error?.code}`);
      } catch (err) {
        // fetch says only "fetch failed"; what failed (ECONNRESET, a socket closed) is its cause.
        const cause = (err as Error).cause as { code?: string; message?: string } | undefined;
        count(`network ${(err as Error).message}${cause ? `: ${cause.code ?? cause.message}` : ''}`);
      }
    }
  };
  const running = Array.from({ length: clients }, client);
  return {
    acknowledged,
    refused,
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
    assertOnlyUnavailable(serverLines) {
      assert.deepEqual([...refused.keys()].filter((r) => !r.startsWith('503 ')), [], `joins refused: ${JSON.stringify(Object.fromEntries(refused))}\n`
        + serverLines.filter((l) => l.includes('"level":50')).slice(0, 3).join('\n'));
    },
  };
}

/** Waits until nobody waits in the line or in a batch and no processor holds it. */
export const waitForLineAdmitted = (ctx: Context, ticketTypeId: number) => waitFor('the line admitted to its end', async () => {
  const c = await lineCounters(ctx, ticketTypeId);
  return !c.queued && !c.processing && (await ctx.lines.leaseRemainingMs(ticketTypeId)) === -2;
}, { timeoutMs: 30_000, intervalMs: 50 });
