// kill -9 of the worker process whose dispatcher is in the middle of delivering webhooks (issue
// 14): the deliveries it had claimed are sent again by the next worker once their lease has
// passed, so no event is lost; each arrives with a valid signature.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configEnv, killAll, startBoxoffice } from '../../support/processes.ts';
import { waitFor } from '../../support/wait.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { post } from '../helpers/sale.ts';

const EVENTS = 12;

let h: Harness;
let receiver: WebhookReceiver;
before(async () => {
  h = await createHarness({ WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_RETRY_BASE_MS: '100' });
  receiver = await startWebhookReceiver();
});
after(async () => {
  await killAll();
  await receiver.close();
  await h.close();
});

test('webhooks.kill-9-of-the-dispatcher-mid-delivery-loses-nothing', async () => {
  const app = await h.app();
  const endpoint = await post(app, '/admin/webhooks', { url: receiver.url, events: ['sale.opened'] });
  receiver.secret = endpoint.json().secret;
  const ev = await post(app, '/admin/events', { name: 'Crash night', starts_at: new Date(Date.now() + 86_400_000).toISOString() });
  for (let i = 0; i < EVENTS; i++) {
    assert.equal((await post(app, `/admin/events/${ev.json().id}/ticket-types`, { name: `T${i}`, price: '1.00', capacity: 1 })).statusCode, 201);
  }
  // The endpoint takes the requests and never answers: the worker dies with them in flight.
  receiver.answer = () => 'hang';
  const env = configEnv(h.config);
  const first = await startBoxoffice({ role: 'worker', env });
  await waitFor('deliveries in flight', () => receiver.requests.length >= 4);
  const inFlight = new Set(receiver.requests.map((r) => r.id));
  await first.kill9();

  receiver.answer = () => ({ status: 200 });
  const second = await startBoxoffice({ role: 'worker', env });
  const { rows } = await h.ctx.db.query<{ message_id: string }>('SELECT message_id FROM webhook_deliveries');
  assert.equal(rows.length, EVENTS);
  await waitFor('every event to arrive', () => rows.every((r) => receiver.delivered().has(r.message_id)), { timeoutMs: 20_000 });
  await second.stop();

  const { rows: after } = await h.ctx.db.query<{ message_id: string; status: string; attempts: number }>(
    'SELECT message_id, status, attempts FROM webhook_deliveries');
  assert.ok(after.every((r) => r.status === 'delivered'), 'every delivery is marked delivered');
  for (const r of after.filter((d) => inFlight.has(d.message_id))) {
    assert.ok(r.attempts >= 2, `${r.message_id}, in flight at the kill, was sent again`);
  }
  assert.ok(receiver.requests.every((r) => r.verified), 'every request is signed');
  assert.equal(receiver.maxConcurrentPerId(), 1, 'the second worker waited for the dead one\'s lease');
});
