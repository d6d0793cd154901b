// The buyer's page in headless Chromium on a phone-sized screen (issue 4), against a listening
// server with its engine. Screenshots of every state go to test-artifacts/ (not committed).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { browserSkip, launchBrowser, newPhone, PageErrors, screenshot } from '../helpers/browser.ts';
import { waitFor } from '../../support/wait.ts';

// Long enough for the first buyer's walk through the line, short enough to watch a hold run out.
const TTL_SECONDS = 10;

async function waitText(page: Page, selector: string, text: string, timeout = 5_000): Promise<void> {
  await page.waitForFunction(([s, t]) => document.querySelector(s!)?.textContent?.trim() === t, [selector, text], { timeout });
}

const heading = (page: Page, name: string) => page.getByRole('heading', { name, level: 1 });

describe('buyer page in a browser', () => {
  let h: Harness;
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  let ticketTypeId: number;
  const errors = new PageErrors();

  const post = async (url: string, payload: object) => (await app.inject({ method: 'POST', url, payload })).json();
  const join = (user: string, quantity = 1) => post('/queue/join', { user_id: user, ticket_type_id: ticketTypeId, quantity });
  const status = async (token: string) => (await app.inject(`/reservation/status?token=${token}`)).json();
  const held = (token: string) => waitFor(`${token} held`, () => status(token), { until: (s) => s.status === 'reserved', timeoutMs: 5_000 });

  /** A new visitor who gives a name and sees the listing. */
  async function visitor(name: string, shots?: string): Promise<Page> {
    const { page } = await newPhone(browser, errors);
    await page.goto(base);
    await heading(page, 'Who is buying?').waitFor();
    if (shots) await screenshot(page, `${shots}-name`);
    // Keyboard only: the name field has the focus, Enter submits.
    await page.keyboard.type(name);
    await page.keyboard.press('Enter');
    await heading(page, 'Tickets on sale').waitFor();
    return page;
  }

  before(async () => {
    if (browserSkip) return;
    h = await createHarness({ RESERVATION_TTL_SECONDS: String(TTL_SECONDS) });
    app = await h.app();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
    await h.engine();
    ticketTypeId = await h.ticketType(3);
    browser = await launchBrowser();
  });
  afterEach(() => errors.assertNone());
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('buyer.joins-behind-others-watches-the-line-confirms-and-sees-the-booking', { skip: browserSkip }, async () => {
    const [a, b, c] = [await join('a'), await join('b'), await join('c')];
    await held(c.queue_token);
    const [d] = [await join('d'), await join('e')];

    const page = await visitor('ada@example.com', 'buyer1-1');
    await page.getByText('None available right now').waitFor();
    await screenshot(page, 'buyer1-2-events');
    await page.getByRole('button', { name: 'Join the line for Test' }).click();
    await heading(page, 'You are in line').waitFor();
    await waitText(page, '#position', '3');
    await waitText(page, '#ahead', '2');
    await waitText(page, '#remaining', '3');
    await screenshot(page, 'buyer1-3-in-line');

    await post('/reservation/cancel', { token: a.queue_token });
    await waitText(page, '#position', '2');
    // A reload resumes the same place in line from the token kept in the browser.
    await page.reload();
    await heading(page, 'You are in line').waitFor();
    await waitText(page, '#position', '2');
    await post('/reservation/cancel', { token: b.queue_token });
    await waitText(page, '#position', '1');
    await waitText(page, '#ahead', 'Nobody');
    await screenshot(page, 'buyer1-4-next-in-line');

    await post('/reservation/cancel', { token: c.queue_token });
    await heading(page, 'Your tickets are held').waitFor();
    // Keyboard and screen reader users land on the new state, not on a button that went away.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Your tickets are held');
    const shown = await page.locator('#countdown').textContent();
    assert.match(shown!, /^0:(09|10)$/, `countdown starts near the ${TTL_SECONDS} s hold: ${shown}`);
    await page.waitForFunction((s) => document.querySelector('#countdown')!.textContent !== s, shown, { timeout: 2_000 });
    await screenshot(page, 'buyer1-5-held');

    await page.getByRole('button', { name: 'Confirm purchase' }).click();
    await heading(page, 'You have your tickets').waitFor();
    const booking = await page.locator('#booking').textContent();
    assert.match(booking!, /^#\d+$/);
    await screenshot(page, 'buyer1-6-confirmed');
    await page.context().close();

    // The other buyers' holds end, for the next buyer.
    await post('/reservation/cancel', { token: d.queue_token });
    await assertStockInvariants(h.ctx.db);
  });

  test('buyer.lets-the-hold-run-out-and-sees-it-expire', { skip: browserSkip }, async () => {
    const page = await visitor('bea@example.com');
    const joinButton = page.getByRole('button', { name: 'Join the line for Test' });
    await joinButton.focus();
    await page.keyboard.press('Enter');
    await heading(page, 'Your tickets are held').waitFor();
    await screenshot(page, 'buyer2-1-held');
    await heading(page, 'Your hold ran out').waitFor({ timeout: (TTL_SECONDS + 6) * 1_000 });
    await screenshot(page, 'buyer2-2-expired');
    await page.context().close();
    await assertStockInvariants(h.ctx.db);
  });

  test('buyer.arrives-after-sell-out-and-is-told', { skip: browserSkip }, async () => {
    // The two tickets left (the first buyer booked one) go to someone else first.
    const rest = await join('last', 2);
    await held(rest.queue_token);
    await post('/reservation/confirm', { token: rest.queue_token });

    const page = await visitor('cy@example.com');
    await page.getByText('None available right now').waitFor();
    await screenshot(page, 'buyer3-1-events-sold-out');
    await page.getByRole('button', { name: 'Join the line for Test' }).click();
    await heading(page, 'Sold out').waitFor();
    await screenshot(page, 'buyer3-2-sold-out');
    await page.context().close();
    await assertStockInvariants(h.ctx.db);
  });
});
