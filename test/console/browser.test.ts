import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';
import { eventsOf, requestIdOf } from '../e2e/events-support.ts';

/**
 * The console in a real browser (Debian's headless chromium through playwright-core): the pages
 * hydrate under the console's Content-Security-Policy, the sign-in form, the range picker, the
 * filters, a click through to a call, and signing out work as a user drives them.
 */

const TOKEN = 'browser-admin-token-0123456789';
let s: Stack;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const ids: string[] = [];

beforeAll(async () => {
  s = await startStack({ clickhouse: true, env: { WATCHLLM_ADMIN_TOKEN: TOKEN } });
  for (const [model, content] of [
    ['gpt-4o-mini', 'what is the capital of France'],
    ['gpt-4o', 'write a haiku about proxies'],
    ['gpt-4o-mini', 'count to three'],
  ] as const) {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-browser-test', 'content-type': 'application/json', 'x-watchllm-user': 'bob' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
    });
    await res.arrayBuffer();
    ids.push(requestIdOf(res.headers));
  }
  await eventsOf(s.gateway).writer.flush();
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  // A script refused by the CSP, a failed hydration or any uncaught error shows up here.
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // the wrong token's 401 is expected; anything else (a CSP refusal, a failed load) is not
    if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push(`console: ${m.text()}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

test('sign in, read the overview, filter the list, open a call, sign out', async () => {
  await page.goto(`${s.url}/console/requests?model=gpt-4o`);
  await expect.poll(() => page.url()).toContain('/console/login');

  await page.getByLabel('Admin token').fill('wrong-token-wrong-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the admin token');

  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // back where the visitor was going, filtered as asked
  await page.waitForURL(/\/console\/requests\?model=gpt-4o$/);
  await expect.poll(() => page.locator('[data-testid=requests] tbody tr').count()).toBe(1);

  await page.getByRole('link', { name: 'Overview' }).click();
  await page.waitForURL(/\/console\/$/);
  expect(await page.getByTestId('total-requests').textContent()).toBe('3');

  // the range picker navigates as soon as it changes (a script: hydration worked under the CSP)
  await page.getByLabel('Time range').selectOption('1h');
  await page.waitForURL(/range=1h/);
  expect(await page.getByTestId('total-requests').textContent()).toBe('3');

  await page.getByRole('link', { name: 'Requests' }).click();
  await page.waitForURL(/\/console\/requests$/);
  await expect.poll(() => page.locator('[data-testid=requests] tbody tr').count()).toBe(3);
  await page.getByLabel('Text in bodies').fill('haiku');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/q=haiku/);
  await expect.poll(() => page.locator('[data-testid=requests] tbody tr').count()).toBe(1);

  await page.locator('[data-testid=requests] tbody tr a').first().click();
  await page.waitForURL(new RegExp(`/console/requests/${ids[1]}$`));
  expect(await page.getByTestId('request-body').textContent()).toContain('write a haiku about proxies');
  expect(await page.getByTestId('model').textContent()).toContain('gpt-4o');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/console\/login$/);
  await page.goto(`${s.url}/console/`);
  await expect.poll(() => page.url()).toContain('/console/login');

  expect(problems).toEqual([]);
}, 60_000);
