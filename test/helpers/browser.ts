// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core
// (no browser download). Playwright gives every launch a fresh, temporary profile directory, and
// every context its own storage, so each test buyer starts as a new visitor.
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = new URL('../../test-artifacts/', import.meta.url);

/** A phone-sized screen (iPhone 12-class CSS pixels). */
export const PHONE = { width: 390, height: 844 };

export const chromiumMissing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian: apt-get install chromium)`;

export async function launchBrowser(): Promise<Browser> {
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

/** A new visitor on a phone-sized screen; browser console errors fail loudly in the test log. */
export async function newPhone(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[browser] ${err.message}`));
  return { context, page };
}

/** Saves a full-page screenshot as test-artifacts/<name>.png (not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS_DIR).pathname, fullPage: true });
}
