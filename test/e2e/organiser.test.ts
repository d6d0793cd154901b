// The organiser's integration in headless Chromium (issue 14): a buyer of a ticket type the
// organiser confirms goes from the held state to the organiser's checkout (another origin, served
// here) with a signed pass; the organiser's server confirms with its API key and the buyer, back on
// the ticket page, sees the booking. On the dashboard, a failed webhook delivery is retried now.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { assertStockInvariants } from '../../support/invariants.ts';
import { waitFor } from '../../support/wait.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.ts';
import { browserSkip, launchBrowser, newPhone, PageErrors, screenshot } from '../helpers/browser.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { ADMIN, post } from '../helpers/sale.ts';

const heading = (page: Page, name: string) => page.getByRole('heading', { name, level: 1 });

describe('organiser integration in a browser', () => {
  let h: Harness;
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  let shop: http.Server;
  let shopUrl: string;
  let receiver: WebhookReceiver;
  const passes: string[] = [];
  const errors = new PageErrors();

  before(async () => {
    if (browserSkip) return;
    // A failed delivery waits a minute for its retry: long enough to press "retry now" first.
    h = await createHarness({ WEBHOOK_RETRY_BASE_MS: '60000' });
    app = await h.app();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await h.engine();
    // The organiser's checkout: records the pass it is given and shows a page.
    shop = http.createServer((req, res) => {
      const pass = new URL(req.url!, 'http://shop').searchParams.get('pass');
      if (pass) passes.push(pass);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Shop</title><h1>Pay for your tickets</h1>');
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/checkout`;
    receiver = await startWebhookReceiver();
    browser = await launchBrowser();
  });
  afterEach(() => errors.assertNone());
  after(async () => {
    await browser?.close();
    await receiver?.close();
    await new Promise((resolve) => (shop ? shop.close(resolve) : resolve(undefined)));
    await h?.close();
  });

  test('organiser-page.buyer-goes-to-checkout-with-a-pass-and-comes-back-booked', { skip: browserSkip }, async () => {
    const ev = await post(app, '/admin/events', { name: 'Tokyo night', starts_at: '2031-06-01T11:00:00Z', currency: 'JPY' });
    const tt = await post(app, `/admin/events/${ev.json().id}/ticket-types`,
      { name: 'Arena', price: '5000', capacity: 10, confirm_by: 'organiser', checkout_url: shopUrl });
    assert.equal(tt.statusCode, 201, tt.body);
    const key = (await post(app, '/admin/api-keys', { event_id: ev.json().id, name: 'shop' })).json().key;

    const { page } = await newPhone(browser, errors);
    await page.goto(base);
    await page.keyboard.type('kenji@example.com');
    await page.keyboard.press('Enter');
    await heading(page, 'Tickets on sale').waitFor();
    const item = page.locator(`.ticket-type[data-id="${tt.json().id}"]`);
    // en-GB: the yen has no minor unit.
    assert.equal((await item.locator('.price').textContent())?.trim(), 'JP¥5,000');
    await screenshot(page, 'organiser1-1-listing');
    await page.getByRole('button', { name: 'Join the line for Arena' }).click();
    await heading(page, 'Your tickets are held').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Confirm purchase' }).isVisible(), false);
    await screenshot(page, 'organiser1-2-held');
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await page.getByRole('heading', { name: 'Pay for your tickets' }).waitFor();
    assert.ok(page.url().startsWith(`${shopUrl}?pass=`), page.url());

    // The organiser's server checks the pass, takes the payment, and confirms.
    const jwks = createLocalJWKSet((await app.inject('/.well-known/jwks.json')).json());
    const { payload } = await jwtVerify(passes.at(-1)!, jwks);
    assert.equal(payload.quantity, 1);
    assert.equal(payload.unit_price, '5000');
    assert.equal(payload.currency, 'JPY');
    const confirmed = await app.inject({
      method: 'POST', url: '/reservation/confirm', payload: { token: payload.token },
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': `payment-${payload.hold_id}` },
    });
    assert.equal(confirmed.statusCode, 200, confirmed.body);

    // Back on the ticket page (the shop links there), the booking is shown.
    await page.goto(base);
    await heading(page, 'You have your tickets').waitFor();
    assert.equal((await page.locator('#booking').textContent())?.trim(), `#${confirmed.json().booking_id}`);
    await screenshot(page, 'organiser1-3-booked');
    await assertStockInvariants(h.ctx.db);
  });

  test('organiser-page.dashboard-shows-a-failed-delivery-and-retries-it-now', { skip: browserSkip }, async () => {
    receiver.answer = () => ({ status: 500 });
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    const page = errors.watch(await context.newPage());
    await page.goto(`${base}/admin`);
    await page.getByLabel('Admin token').fill('test-admin-token');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Sales/ }).waitFor();

    const form = page.locator('#webhook-form');
    await form.getByLabel('URL').fill(receiver.url);
    for (const type of ['hold.granted', 'hold.expired', 'hold.cancelled', 'booking.confirmed', 'line.sold_out', 'sale.closed']) {
      await form.getByLabel(type).uncheck();
    }
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = /whsec_\S+/.exec((await form.locator('.result', { hasText: 'whsec_' }).textContent())!)![0];
    receiver.secret = secret;
    await page.locator('#webhooks tbody tr', { hasText: receiver.url }).waitFor();

    // A new ticket type opens a sale: sale.opened, which the endpoint refuses.
    const ev = (await post(app, '/admin/events', { name: 'Hook night', starts_at: '2031-06-02T19:00:00Z' })).json();
    assert.equal((await post(app, `/admin/events/${ev.id}/ticket-types`, { name: 'Hooked', price: '12', capacity: 5 })).statusCode, 201);
    const row = page.locator('#deliveries tbody tr', { hasText: 'sale.opened' });
    await row.locator('td', { hasText: 'HTTP 500' }).waitFor({ timeout: 10_000 });
    assert.equal((await row.locator('td').nth(2).textContent())?.trim(), 'pending');
    assert.equal((await row.locator('td').nth(3).textContent())?.trim(), '1');
    await screenshot(page, 'organiser2-1-failed-delivery');

    receiver.answer = () => ({ status: 200 });
    await row.getByRole('button', { name: 'Retry now' }).click();
    await row.locator('td', { hasText: 'delivered' }).waitFor({ timeout: 10_000 });
    assert.equal((await row.locator('td').nth(3).textContent())?.trim(), '2');
    await screenshot(page, 'organiser2-2-retried');
    await waitFor('the retried event to arrive signed', () => receiver.requests.some((r) => r.type === 'sale.opened' && r.verified));
    const log = await app.inject({ url: '/admin/webhook-deliveries', headers: ADMIN });
    assert.equal(log.json().deliveries[0].status, 'delivered');
    await context.close();
  });
});
