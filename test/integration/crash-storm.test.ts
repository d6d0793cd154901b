// Issue 6: kill -9 of API and worker processes at random moments while lines drain and holds run
// out (2 s holds), each followed by a restart. Afterwards every acknowledged join is accounted
// for, every acknowledged confirm is booked, and I1-I3 and I6 hold.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { FINAL_STATUSES, type Status } from '../../src/domain/status.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertLineInvariants, assertStockInvariants, lineCounters } from '../../support/invariants.ts';
import { configEnv, killAll, startBoxoffice, type BoxofficeProcess } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';

const KILLS = 12;
const JOINS = 400;

let h: Harness;
let env: Record<string, string>;

before(async () => {
  h = await createHarness();
  env = {
    ...configEnv(h.config),
    LOG_LEVEL: 'info',
    RESERVATION_TTL_SECONDS: '2',
    CLEANUP_INTERVAL_SECONDS: '1',
    PROCESSOR_BATCH_SIZE: '10',
    JOIN_LIMIT_PER_IP: '0',
    JOIN_LIMIT_PER_USER: '0',
  };
});

after(async () => {
  await killAll();
  await h.close();
});

const startApi = () => startBoxoffice({ role: 'api', env });
const startWorker = () => startBoxoffice({ role: 'worker', env });

async function call(url: string | undefined, method: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> } | undefined> {
  if (url === undefined) {
    await delay(50);
    return undefined; // every API process is down this instant
  }
  try {
    const res = await fetch(url, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(5_000),
    });
    return { status: res.status, json: await res.json() as Record<string, unknown> };
  } catch {
    return undefined; // the process died under the request: no acknowledgement
  }
}

test('crash-storm.kill-9-of-api-and-workers-loses-no-acknowledged-join-or-confirm', async (t) => {
  const ticketTypes = [await h.ticketType(60, 2), await h.ticketType(30, 1)];
  const apis: BoxofficeProcess[] = await Promise.all([startApi(), startApi()]);
  const workers: BoxofficeProcess[] = await Promise.all([startWorker(), startWorker()]);

  const joined = new Map<string, { ticketTypeId: number; quantity: number }>();
  const confirmed = new Set<string>();
  const cancelled = new Set<string>();
  let stop = false;
  let users = 0;
  const api = (path: string) => {
    const base = apis[Math.floor(Math.random() * apis.length)]?.url;
    return base && `${base}${path}`;
  };

  async function buyer(): Promise<void> {
    while (!stop && users < JOINS) {
      const ticketTypeId = ticketTypes[users % 2]!;
      const quantity = ticketTypeId === ticketTypes[0] ? 1 + (users % 2) : 1;
      const res = await call(api('/queue/join'), 'POST', { user_id: `buyer-${users++}`, ticket_type_id: ticketTypeId, quantity });
      if (res?.status === 202) joined.set(res.json.queue_token as string, { ticketTypeId, quantity });
      else if (res) assert.equal(res.status, 503, JSON.stringify(res.json));
      await delay(100);
    }
  }

  async function decider(): Promise<void> {
    while (!stop) {
      const tokens = [...joined.keys()];
      const token = tokens[Math.floor(Math.random() * tokens.length)];
      if (token && !confirmed.has(token) && !cancelled.has(token)) {
        const status = await call(api(`/reservation/status?token=${token}`), 'GET');
        const roll = Math.random();
        if (status?.json.status === 'reserved' && roll < 0.4) {
          const res = await call(api('/reservation/confirm'), 'POST', { token });
          if (res?.status === 200) confirmed.add(token);
        } else if (status?.json.status === 'pending' && roll < 0.05) {
          const res = await call(api('/reservation/cancel'), 'POST', { token });
          if (res?.status === 200) cancelled.add(token);
        }
      }
      await delay(5);
    }
  }

  const load = [...Array.from({ length: 4 }, buyer), ...Array.from({ length: 3 }, decider)];
  const kills = { api: 0, worker: 0 };
  const restarts: Promise<void>[] = [];
  try {
    while (kills.api + kills.worker < KILLS) {
      await delay(300 + Math.random() * 700);
      // One API always answers, so that buyers keep coming while the other restarts.
      const canKillApi = apis.length === 2;
      if (!canKillApi && !workers.length) {
        await Promise.race(restarts);
        continue;
      }
      if (canKillApi && (Math.random() < 0.5 || !workers.length)) {
        const victim = apis.splice(Math.floor(Math.random() * apis.length), 1)[0]!;
        await victim.kill9();
        kills.api++;
        // Buyers go to the other API while this one comes back.
        restarts.push(startApi().then((p) => void apis.push(p)));
      } else {
        const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]!;
        await victim.kill9();
        kills.worker++;
        restarts.push(startWorker().then((p) => void workers.push(p)));
      }
    }
  } finally {
    stop = true;
    await Promise.all(load);
    await Promise.all(restarts);
  }

  // Wait until every buyer has an outcome. Left alone, the last few tickets would pass down a long
  // line one 2 s hold at a time, so from now on every buyer who gets a hold buys it: the stock
  // sells out and the rest of the line hears sold_out.
  let open = [...joined.keys()];
  await waitFor('every acknowledged join to reach an outcome', async () => {
    const seen = await Promise.all(open.map((token) => call(api(`/reservation/status?token=${token}`), 'GET')));
    await Promise.all(open.map(async (token, i) => {
      if (seen[i]?.json.status !== 'reserved') return;
      const res = await call(api('/reservation/confirm'), 'POST', { token });
      if (res?.status === 200) confirmed.add(token);
    }));
    const unsettled = seen.filter((s) => !FINAL_STATUSES.has(s?.json.status as Status));
    open = open.filter((_, i) => !FINAL_STATUSES.has(seen[i]?.json.status as Status));
    return { open: open.length, statuses: unsettled.map((s) => s?.json).slice(0, 5) };
  }, { until: ({ open }) => open === 0, timeoutMs: 60_000, intervalMs: 250 });
  t.diagnostic(`${kills.api} API and ${kills.worker} worker kills; ${joined.size} acknowledged joins, `
    + `${confirmed.size} acknowledged confirms, ${cancelled.size} acknowledged cancels`);
  assert.ok(joined.size > 100, `only ${joined.size} joins got through`);

  // Every acknowledged join is in its line's records; every acknowledged confirm and cancel holds.
  const { db, lines } = h.ctx;
  for (const ticketTypeId of ticketTypes) {
    const { records } = await lines.snapshot(ticketTypeId);
    for (const [token, info] of joined) {
      if (info.ticketTypeId === ticketTypeId) assert.ok(records.has(token), `acknowledged join ${token} is gone from its line`);
    }
  }
  const booked = await db.query<{ token: string }>(
    `SELECT r.token FROM reservations r JOIN ticket_bookings b ON b.reservation_id = r.id WHERE r.status = 'confirmed'`);
  const bookedTokens = new Set(booked.rows.map((r) => r.token));
  for (const token of confirmed) assert.ok(bookedTokens.has(token), `I4: acknowledged confirm ${token} has no booking`);
  const finals = await Promise.all([...cancelled].map((token) => call(api(`/reservation/status?token=${token}`), 'GET')));
  assert.deepEqual(finals.map((s) => s?.json.status), [...cancelled].map(() => 'cancelled'));

  // Every buyer who entered a line left it once: its served counter reached the last sequence
  // number (a replayed batch counted twice would overshoot, a lost one fall short). Then the line
  // at rest against its hold rows: I2, I3 (holds in join order) and I6 (sold_out only for a buyer
  // who could never fit).
  for (const ticketTypeId of ticketTypes) {
    const line = await waitFor(`line of ticket type ${ticketTypeId} empty`, async () => {
      const now = await lineCounters(h.ctx, ticketTypeId);
      return now.queued + now.processing === 0 && now;
    }, { timeoutMs: 30_000 });
    assert.equal(line.served, line.seq, `ticket type ${ticketTypeId}: ${JSON.stringify(line)}`);
    await assertLineInvariants(h.ctx, ticketTypeId);
  }

  // I1, I2: nothing is held any more, and stock plus bookings make the capacity.
  await assertStockInvariants(db);
  const held = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservations WHERE status = 'reserved'`);
  assert.equal(held.rows[0]!.n, 0);
});
