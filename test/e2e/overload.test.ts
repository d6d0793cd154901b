// Issue 15: the buyer's page, refused for load (503 with Retry-After) when it joins, tells the buyer,
// waits Retry-After plus jitter, tries again and gets in line.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { browserSkip, launchBrowser, PageErrors, PHONE } from '../helpers/browser.ts';

let h: Harness;
let browser: Browser;
let base: string;
const errors = new PageErrors();

before(async () => {
  if (browserSkip) return;
  h = await createHarness();
  const app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
  await h.engine();
  browser = await launchBrowser();
});
afterEach(() => errors.assertNone());
after(async () => {
  await browser?.close();
  await h?.close();
});

test('overload.buyer-page-refused-with-503-waits-retry-after-and-gets-in', { skip: browserSkip }, async () => {
  const ticketTypeId = await h.ticketType(5);
  const context = await browser.newContext({ viewport: PHONE, locale: 'en-GB', timezoneId: 'UTC' });
  // The browser reports the refusal it was served on the console; that one is expected.
  const page = errors.watch(await context.newPage(), /status of 503/);
  const attempts: number[] = [];
  await page.route('**/queue/join', async (route) => {
    attempts.push(Date.now());
    if (attempts.length > 1) return route.continue();
    await route.fulfill({
      status: 503,
      headers: { 'retry-after': '1' },
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'overloaded', message: 'More buyers are joining than this server can answer at once; try again in 1 s.' } }),
    });
  });

  await page.goto(base);
  await page.getByRole('heading', { name: 'Who is buying?', level: 1 }).waitFor();
  await page.keyboard.type('busy@example.com');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Join the line for Test' }).click();
  await page.getByText(/Many buyers are joining right now\. Trying again in [12] s/).waitFor();
  // In line, and with stock to spare admitted at once.
  await page.getByRole('heading', { name: /^(You are in line|Your tickets are held)$/, level: 1 }).waitFor({ timeout: 5_000 });

  assert.equal(attempts.length, 2, 'one refusal, then one join that went through');
  const waited = attempts[1]! - attempts[0]!;
  assert.ok(waited >= 1_000 && waited < 2_500, `waited ${waited} ms after Retry-After: 1 (1 to 2 s with jitter)`);
  assert.ok(await page.locator('#notice').isHidden(), 'the notice goes once in line');
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('boxoffice.place')!).token as string);
  const status = await h.sale.status(token);
  assert.equal(status?.ticket_type_id, ticketTypeId);
  assert.ok(status && ['pending', 'reserved'].includes(status.status), `status ${status?.status}`);
  await context.close();
});
