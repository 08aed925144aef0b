import { describe, expect, test } from 'vitest';
import { issueSession, safeNext, sessionValid, SESSION_SECONDS, tokenMatches } from './auth.ts';

const TOKEN = 'admin-token-0123456789';

describe('sessions', () => {
  test('a session is valid for its lifetime, under the token that issued it only', () => {
    const now = Date.UTC(2026, 10, 26, 12);
    const { value, maxAge } = issueSession(TOKEN, now);
    expect(maxAge).toBe(SESSION_SECONDS);
    expect(value).not.toContain(TOKEN);
    expect(sessionValid(TOKEN, value, now)).toBe(true);
    expect(sessionValid(TOKEN, value, now + (SESSION_SECONDS - 1) * 1000)).toBe(true);
    expect(sessionValid(TOKEN, value, now + SESSION_SECONDS * 1000)).toBe(false);
    // rotating the admin token ends every session
    expect(sessionValid('another-token-0123456789', value, now)).toBe(false);
  });

  test('an edited expiry, a cut signature or junk is refused', () => {
    const now = Date.UTC(2026, 10, 26, 12);
    const { value } = issueSession(TOKEN, now);
    const [expires, mac] = value.split('.') as [string, string];
    for (const v of [`${Number(expires) + 86_400}.${mac}`, `${expires}.${mac.slice(1)}`, `${expires}.`, `.${mac}`, 'x.y', '', undefined]) {
      expect(sessionValid(TOKEN, v, now), String(v)).toBe(false);
    }
  });

  test('the token comparison takes the exact token only', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN, `${TOKEN} `)).toBe(false);
    expect(tokenMatches(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(tokenMatches(TOKEN, '')).toBe(false);
  });
});

describe('where to go after signing in', () => {
  test('only paths inside the console', () => {
    expect(safeNext('/console/requests?model=x', '/console')).toBe('/console/requests?model=x');
    expect(safeNext('/console', '/console')).toBe('/console');
    for (const bad of [null, '', 'https://evil.example/', '//evil.example/x', '/consolex', '/admin/keys', '/console/\\evil', '/console/../admin', '/console/%2e%2E/x', '/console/./../x']) {
      expect(safeNext(bad, '/console'), String(bad)).toBe('/console/');
    }
  });

  test.each([
    ['CR LF (a header injection)', '/console/\r\nx-injected: 1'],
    ['a lone LF', '/console/\nx'],
    ['NUL', '/console/\u0000'],
    ['a tab', '/console/\tx'],
    ['DEL', '/console/\u007f'],
    ['a space', '/console/a b'],
    ['a character a header cannot carry', '/console/\u65e5'],
  ])('%s falls back to the console home, so the redirect can be sent', (_title, next) => {
    const to = safeNext(next, '/console');
    expect(to).toBe('/console/');
    // what SvelteKit's redirect() checks before answering: it threw, and the sign-in answered 500
    expect(() => new Headers({ location: to })).not.toThrow();
  });

  test('the paths the console sends to sign-in (percent-encoded) pass as they are', () => {
    const next = new URL('http://x/console/requests/r%C3%A9q?user=o%27brien&q=a%20b').pathname + '?user=o%27brien&q=a%20b';
    expect(safeNext(next, '/console')).toBe(next);
  });
});
