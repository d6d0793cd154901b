// The admin dashboard in headless Chromium (issue 7): token entered once and kept, forms that
// create an event and a ticket type, a line that drains with its stock bar moving, pause and
// resume; and the API documentation UI at /docs. Screenshots go to test-artifacts/.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { assertStockInvariants } from '../../support/invariants.ts';
import { browserSkip, launchBrowser, PageErrors, screenshot } from '../helpers/browser.ts';
import { ADMIN, join, post, stats, waitForStatus } from '../helpers/sale.ts';
import { waitFor } from '../../support/wait.ts';

const DESKTOP = { width: 1280, height: 860 };

describe('admin dashboard in a browser', () => {
  let h: Harness;
  let app: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const errors = new PageErrors();

  const row = (name: string) => page.locator('#sales tbody tr', { hasText: name });
  const cell = (name: string, selector: string) => row(name).locator(selector);
  async function waitCell(name: string, selector: string, expected: string | RegExp, timeout = 5_000) {
    const locator = cell(name, selector);
    await locator.waitFor({ timeout });
    return waitFor(`${name} ${selector} to be ${expected}`, async () => (await locator.textContent())?.trim() ?? '', {
      until: (text) => (typeof expected === 'string' ? text === expected : expected.test(text)), timeoutMs: timeout, intervalMs: 50,
    });
  }
  const barWidth = (name: string, part: string) =>
    cell(name, `.bar .${part}`).evaluate((el) => (el as HTMLElement).getBoundingClientRect().width /
      el.parentElement!.getBoundingClientRect().width);

  before(async () => {
    if (browserSkip) return;
    h = await createHarness();
    app = await h.app();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await h.engine();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-GB', timezoneId: 'UTC' });
    // A 401 while the wrong token is tried is expected; any other error is a problem.
    page = errors.watch(await context.newPage(), /401/);
  });
  afterEach(() => errors.assertNone());
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('admin-page.token-entered-once-and-kept', { skip: browserSkip }, async () => {
    await page.goto(`${base}/admin`);
    const tokenField = page.getByLabel('Admin token');
    await tokenField.waitFor();
    await screenshot(page, 'admin-1-token');
    await tokenField.fill('not-the-token');
    await page.keyboard.press('Enter');
    await page.locator('#login-error', { hasText: 'admin token' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('boxoffice.adminToken')), null, 'a wrong token is not kept');

    await tokenField.fill('test-admin-token');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Sales/ }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: /Sales/ }).waitFor();
    assert.equal(await tokenField.isVisible(), false, 'not asked again after a reload');
  });

  test('admin-page.forms-create-an-event-and-a-ticket-type', { skip: browserSkip }, async () => {
    const eventForm = page.locator('#event-form');
    await eventForm.getByLabel('Name').fill('Dashboard night');
    await eventForm.getByLabel('Venue').fill('Hall 7');
    await eventForm.getByLabel('Starts at').fill('2031-05-01T20:00');
    await eventForm.getByRole('button', { name: 'Create event' }).click();
    await eventForm.locator('.result', { hasText: /Created event #\d+/ }).waitFor();

    const ttForm = page.locator('#ticket-type-form');
    assert.match(await ttForm.getByLabel('Event').inputValue(), /^\d+$/, 'the new event is chosen');
    await ttForm.getByLabel('Name').fill('Balcony');
    await ttForm.getByLabel('Price').fill('35.50');
    await ttForm.getByLabel('Capacity').fill('4');
    await ttForm.getByLabel('Max per order').fill('2');
    await ttForm.getByRole('button', { name: 'Create ticket type' }).click();
    await ttForm.locator('.result', { hasText: /Created ticket type #\d+/ }).waitFor();

    await waitCell('Balcony', '.stock-text', '0 confirmed · 0 held · 4 available of 4');
    assert.match((await row('Balcony').textContent()) ?? '', /Dashboard night/);
    const events = (await app.inject('/events')).json() as { name: string; venue: string; starts_at: string; ticket_types: { name: string; price: string }[] }[];
    const created = events.find((e) => e.name === 'Dashboard night')!;
    assert.equal(created.venue, 'Hall 7');
    assert.equal(new Date(created.starts_at).toISOString(), '2031-05-01T20:00:00.000Z');
    assert.deepEqual(created.ticket_types.map((t) => [t.name, t.price]), [['Balcony', '35.50']]);
  });

  test('admin-page.pause-then-watch-the-line-drain-and-the-stock-bar-move', { skip: browserSkip }, async () => {
    const id = [...(await stats(app)).values()].find((t) => t.capacity === 4)!.id;
    await row('Balcony').getByRole('button', { name: 'Pause admission' }).click();
    await row('Balcony').getByText('paused', { exact: true }).waitFor();
    assert.equal((await stats(app)).get(id)!.paused, true);

    const tokens = [];
    for (let i = 0; i < 6; i++) tokens.push(await join(app, id, `fan-${i}`));
    await waitCell('Balcony', '.waiting', '6');
    await screenshot(page, 'admin-2-paused-line');

    await row('Balcony').getByRole('button', { name: 'Resume admission' }).click();
    // Four admitted (capacity 4); two wait for a hold to come back.
    await waitCell('Balcony', '.waiting', '2');
    await waitCell('Balcony', '.stock-text', '0 confirmed · 4 held · 0 available of 4');
    await waitCell('Balcony', '.rate', /^\d+\.\d$/);
    assert.ok(Number(await cell('Balcony', '.rate').textContent()) > 0, 'admission rate shown');
    assert.equal(await row('Balcony').getByText('paused', { exact: true }).isVisible(), false);
    await screenshot(page, 'admin-3-drained');

    for (const token of tokens.slice(0, 2)) {
      await waitForStatus(app, token, 'reserved');
      assert.equal((await post(app, '/reservation/confirm', { token })).statusCode, 200);
    }
    // One hold is about to run out.
    await h.ctx.db.query(`UPDATE reservations SET expires_at = now() + interval '12 seconds' WHERE token = $1`, [tokens[2]]);
    await waitCell('Balcony', '.stock-text', '2 confirmed · 2 held · 0 available of 4');
    await waitCell('Balcony', '.expiring', /^1 \(next in \d+ s\)$/);
    // The bar's segments slide to their new widths.
    const widths = async () => [await barWidth('Balcony', 'confirmed'), await barWidth('Balcony', 'held')];
    await waitFor('confirmed and held to be half the bar each', widths,
      { until: (now) => now.every((w) => Math.abs(w - 0.5) < 0.02), timeoutMs: 5_000, intervalMs: 100 });
    await screenshot(page, 'admin-4-confirmed');
    await assertStockInvariants(h.ctx.db);
    errors.assertNone();
  });

  test('admin-page.a-revoked-token-asks-again', { skip: browserSkip }, async () => {
    await page.evaluate(() => localStorage.setItem('boxoffice.adminToken', 'revoked'));
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('boxoffice.adminToken')), null);
    assert.equal((await app.inject({ method: 'GET', url: '/admin/stats', headers: ADMIN })).statusCode, 200);
  });

  test('docs.ui-lists-the-routes', { skip: browserSkip }, async () => {
    const docs = errors.watch(await context.newPage());
    await docs.goto(`${base}/docs`);
    await docs.locator('.opblock').first().waitFor({ timeout: 10_000 });
    assert.ok(await docs.locator('.opblock').count() >= 15, 'every operation is listed');
    await docs.getByText('/admin/ticket-types/{id}/pause').first().waitFor();
    await screenshot(docs, 'docs-1-ui');
    errors.assertNone('the UI runs under the Content-Security-Policy');
  });
});
