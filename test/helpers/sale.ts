// Driving a small sale through the HTTP API (app.inject), for the operations tests.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
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
