import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { adminAuth } from './admin-auth.ts';

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
