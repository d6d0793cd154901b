// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core
// (no browser download). Playwright gives every launch a fresh, temporary profile directory, and
// every context its own storage, so each test buyer starts as a new visitor.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = new URL('../../test-artifacts/', import.meta.url);

/** A phone-sized screen (iPhone 12-class CSS pixels). */
export const PHONE = { width: 390, height: 844 };

/**
 * Why the browser tests cannot run here, or false: give it as each test's `skip`, so that the run's
 * summary counts them as skipped. Under CI a missing browser is no reason: the tests run and fail
 * at launchBrowser(), so that CI never passes without its browser tests.
 */
export const browserSkip: string | false = existsSync(CHROMIUM) || process.env.CI
  ? false
  : `browser tests skipped: ${CHROMIUM} is missing (Debian: apt-get install chromium)`;

export async function launchBrowser(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing, and CI must run the browser tests (scripts/test.sh installs it as root)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * What the pages under test report going wrong: uncaught script errors, and console errors but
 * those a page expects (`allowConsole`). Each test file calls assertNone() after every test, so
 * that a test whose page broke fails.
 */
export class PageErrors {
  private seen: string[] = [];

  watch(page: Page, allowConsole?: RegExp): Page {
    page.on('pageerror', (err) => this.seen.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !allowConsole?.test(msg.text())) this.seen.push(`console: ${msg.text()}`);
    });
    return page;
  }

  /** Fails with every error seen since the last call. */
  assertNone(message = 'no script or console errors'): void {
    const seen = this.seen;
    this.seen = [];
    assert.deepEqual(seen, [], message);
  }
}

/** A new visitor on a phone-sized screen, its errors watched. */
export async function newPhone(browser: Browser, errors: PageErrors): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: 'en-GB', timezoneId: 'UTC' });
  return { context, page: errors.watch(await context.newPage()) };
}

/** Saves a full-page screenshot as test-artifacts/<name>.png (not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS_DIR).pathname, fullPage: true });
}
