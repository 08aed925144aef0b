import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';

/**
 * Wrong admin tokens are counted per client address, at the admin API and the console's sign-in
 * alike (one count: a guesser cannot double its rate by alternating the two). Behind a trusted
 * proxy (WATCHLLM_TRUST_PROXY=1) the address is the X-Forwarded-For entry the proxy added, so each
 * test uses addresses of its own.
 */

const TOKEN = 'throttle-admin-token-0123456789';
let s: Stack;

beforeAll(async () => {
  s = await startStack({ clickhouse: true, env: { WATCHLLM_ADMIN_TOKEN: TOKEN, WATCHLLM_TRUST_PROXY: '1' } });
});

afterAll(async () => {
  await s?.close();
});

const admin = (address: string, token: string) =>
  fetch(`${s.url}/admin/keys`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': address } });

const signIn = (address: string, token: string) =>
  fetch(`${s.url}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: s.url, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'x-forwarded-for': address },
    body: new URLSearchParams({ token }).toString(),
  });

describe('wrong admin tokens', () => {
  test('ten wrong tokens lock the address out of the admin API and the console, right token or not; other addresses carry on', async () => {
    const guesser = '198.51.100.10';
    for (let i = 0; i < 5; i++) expect((await admin(guesser, `guess-${i}`)).status).toBe(401);
    for (let i = 5; i < 10; i++) {
      const res = await signIn(guesser, `guess-${i}`);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('That is not the admin token.');
    }
    const api = await admin(guesser, TOKEN);
    expect(api.status).toBe(429);
    expect(Number(api.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('too_many_failed_sign_ins');
    const page = await signIn(guesser, TOKEN);
    expect(page.status).toBe(429);
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(page.headers.getSetCookie().some((c) => c.startsWith('watchllm_console='))).toBe(false);
    expect(await page.text()).toContain('Too many wrong tokens from your address');

    expect((await admin('198.51.100.11', TOKEN)).status).toBe(200);
    const other = await signIn('198.51.100.11', TOKEN);
    expect(other.status).toBe(303);
  });

  test('sign-ins sent together with their bodies held back are still counted: at most ten are compared', async () => {
    const racer = '198.51.100.40';
    const url = new URL(`${s.url}/console/login`);
    const pending = Array.from({ length: 25 }, (_, i) => {
      const body = new URLSearchParams({ token: `race-${i}` }).toString();
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { origin: s.url, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'x-forwarded-for': racer, 'content-length': Buffer.byteLength(body) },
      });
      const status = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      req.flushHeaders();
      return { req, body, status };
    });
    // every request's head is in (and past the first check) before any body is
    await new Promise((r) => setTimeout(r, 300));
    for (const p of pending) p.req.end(p.body);
    const statuses = await Promise.all(pending.map((p) => p.status));
    expect(statuses.filter((c) => c === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((c) => c === 429).length).toBeGreaterThanOrEqual(15);
  });

  test('an empty sign-in form is no guess: it is told so and never counted', async () => {
    const empty = '198.51.100.30';
    for (let i = 0; i < 12; i++) expect((await signIn(empty, '')).status).toBe(401);
    expect((await signIn(empty, TOKEN)).status).toBe(303);
  });

  test('a right token before the limit clears the misses', async () => {
    const typo = '198.51.100.20';
    for (let i = 0; i < 9; i++) expect((await signIn(typo, 'almost-the-token')).status).toBe(401);
    expect((await signIn(typo, TOKEN)).status).toBe(303);
    for (let i = 0; i < 9; i++) expect((await admin(typo, 'almost-the-token')).status).toBe(401);
    expect((await admin(typo, TOKEN)).status).toBe(200);
  });
});
