import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { adminAuth } from './admin-auth.ts';
import { SignInThrottle } from './sign-in-throttle.ts';

const TOKEN = 'admin-token-0123456789';

function app(token: string | undefined): Hono {
  const a = new Hono();
  a.use('/admin/*', adminAuth(token));
  a.get('/admin/ping', (c) => c.json({ ok: true }));
  a.get('/open', (c) => c.json({ ok: true }));
  return a;
}

describe('adminAuth', () => {
  test.each([
    ['the exact bearer token', `Bearer ${TOKEN}`],
    ['a lower-case scheme name', `bearer ${TOKEN}`],
    ['extra spaces around the token', `Bearer   ${TOKEN} `],
  ] as const)('lets a call with %s through', async (_title, authorization) => {
    const res = await app(TOKEN).request('/admin/ping', { headers: { authorization } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  test.each([
    ['no authorization header', undefined, 'Missing admin token'],
    ['a wrong token', 'Bearer admin-token-0123456780', 'Invalid admin token.'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`, 'Invalid admin token.'],
    ['the token with a suffix', `Bearer ${TOKEN}x`, 'Invalid admin token.'],
    ['the token under another scheme', `Basic ${TOKEN}`, 'Missing admin token'],
    ['a bare token without a scheme', TOKEN, 'Missing admin token'],
    ['an empty bearer', 'Bearer ', 'Missing admin token'],
  ] as const)('answers 401 invalid_admin_token for %s', async (_title, authorization, message) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const res = await app(TOKEN).request('/admin/ping', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="watchllm-admin"');
    const body = (await res.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_admin_token' });
    expect(body.error.message).toContain(message);
  });

  test.each([
    ['unset', undefined],
    ['empty', ''],
  ] as const)('answers 403 admin_disabled to every call when the token is %s, even with a bearer', async (_title, token) => {
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }, { authorization: 'Bearer ' }] as Record<string, string>[]) {
      const res = await app(token).request('/admin/ping', { headers });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        error: {
          message: 'The admin API is disabled: set WATCHLLM_ADMIN_TOKEN.',
          type: 'permission_error',
          code: 'admin_disabled',
          param: null,
        },
      });
    }
  });

  test('guards only the routes it is mounted on', async () => {
    const res = await app(undefined).request('/open');
    expect(res.status).toBe(200);
  });
});

describe('adminAuth with a sign-in throttle', () => {
  function guarded(throttle: SignInThrottle): Hono {
    const a = new Hono();
    a.use('/admin/*', adminAuth(TOKEN, { throttle, addressOf: (c) => c.req.header('x-test-address') ?? '' }));
    a.get('/admin/ping', (c) => c.json({ ok: true }));
    return a;
  }
  const ping = (a: Hono, address: string, authorization?: string) =>
    a.request('/admin/ping', { headers: { 'x-test-address': address, ...(authorization ? { authorization } : {}) } });

  test('an address that sent too many wrong tokens is refused with 429 and retry-after, even with the right one', async () => {
    const a = guarded(new SignInThrottle({ maxFailures: 3, windowMs: 60_000 }));
    for (let i = 0; i < 3; i++) expect((await ping(a, '203.0.113.7', 'Bearer wrong-guess')).status).toBe(401);
    const res = await ping(a, '203.0.113.7', `Bearer ${TOKEN}`);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_failed_sign_ins' });
    expect(body.error.message).toMatch(/retry in \d+ s/);
    // another address is not held up
    expect((await ping(a, '203.0.113.8', `Bearer ${TOKEN}`)).status).toBe(200);
  });

  test('calls without a token are told so and never locked out; a right token clears earlier misses', async () => {
    const a = guarded(new SignInThrottle({ maxFailures: 2 }));
    for (let i = 0; i < 5; i++) expect((await ping(a, 'x')).status).toBe(401);
    expect((await ping(a, 'x', 'Bearer wrong')).status).toBe(401);
    expect((await ping(a, 'x', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await ping(a, 'x', 'Bearer wrong')).status).toBe(401);
    expect((await ping(a, 'x', `Bearer ${TOKEN}`)).status).toBe(200);
  });
});
