import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The console opens with the admin token (WATCHLLM_ADMIN_TOKEN), like the admin API. Signing in
 * trades it for a session cookie that holds an expiry and an HMAC of it keyed by the token, never
 * the token itself: the cookie dies with its expiry or as soon as the token is rotated.
 */
export const SESSION_COOKIE = 'watchllm_console';
export const SESSION_SECONDS = 12 * 60 * 60;

function mac(token: string, expires: number): string {
  return createHmac('sha256', token).update(`watchllm-console:${expires}`).digest('base64url');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Constant-time comparison of a submitted token with the configured one. */
export function tokenMatches(configured: string, submitted: string): boolean {
  // compare digests: equal lengths whatever was submitted, so the length does not leak either
  const h = (s: string) => createHmac('sha256', 'watchllm-console-token').update(s).digest('base64url');
  return same(h(configured), h(submitted));
}

/**
 * The session cookie's attributes, the same when it is set and when it is cleared (a browser keeps
 * a cookie that a differently-scoped Set-Cookie tries to clear). Lax, not Strict: a console link
 * followed from a chat or a ticket arrives signed in; every page is a read, and SvelteKit checks the
 * Origin of form posts.
 */
export function sessionCookie(base: string, url: URL) {
  return { path: base, httpOnly: true, sameSite: 'lax', secure: url.protocol === 'https:' } as const;
}

export function issueSession(token: string, now = Date.now()): { value: string; maxAge: number } {
  const expires = Math.floor(now / 1000) + SESSION_SECONDS;
  return { value: `${expires}.${mac(token, expires)}`, maxAge: SESSION_SECONDS };
}

export function sessionValid(token: string, value: string | undefined, now = Date.now()): boolean {
  if (!value) return false;
  const dot = value.indexOf('.');
  const expires = Number(value.slice(0, dot));
  if (dot <= 0 || !Number.isSafeInteger(expires) || expires * 1000 <= now) return false;
  return same(mac(token, expires), value.slice(dot + 1));
}

/**
 * Where to go after signing in: only a path inside the console, so a crafted link cannot send a
 * user who just typed the admin token to another site. Only visible ASCII (RFC 3986 §2): the
 * paths the console sends here are percent-encoded; control characters, spaces and other text are
 * no such path, and CR/LF, NUL or characters past Latin-1 cannot even be sent in a Location
 * header (redirect() threw, and the sign-in answered 500).
 */
export function safeNext(next: string | null, base: string): string {
  if (!next || !next.startsWith(`${base}/`) && next !== base) return `${base}/`;
  if (next.startsWith('//') || next.includes('\\') || !/^[\x21-\x7e]+$/.test(next)) return `${base}/`;
  // dot segments (raw or percent-encoded) would lead out of the console once the browser resolves them
  const path = next.split(/[?#]/, 1)[0]!;
  if (path.split('/').some((seg) => /^(?:\.|%2e){1,2}$/i.test(seg))) return `${base}/`;
  return next;
}
