import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { errorBody, GatewayError } from './errors.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';
import { retryAfterSeconds } from './stores/index.ts';

/** `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme name is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Guards the admin API (`/admin/*`) with `WATCHLLM_ADMIN_TOKEN`. Without a configured token the
 * admin API is off (403 for every call) rather than open: a gateway started without one must not
 * let anyone mint keys. The presented token is compared as sha256 digests with
 * `timingSafeEqual`, so neither its content nor its length shows in the response time. With a
 * `throttle`, an address that sent too many wrong tokens is refused (429) before its token is read.
 *
 * @example
 * const app = new Hono();
 * app.use('/admin/*', adminAuth(process.env.WATCHLLM_ADMIN_TOKEN));
 * app.route('/', adminKeyRoutes({ keys, providers: registry.ids }));
 */
export function adminAuth(
  token: string | undefined,
  guard?: { throttle: SignInThrottle; addressOf: (c: Context) => string },
): MiddlewareHandler {
  const expected = token ? digest(token) : null;
  return async function adminAuth(c, next) {
    if (expected === null) {
      const err = new GatewayError({
        status: 403,
        type: 'permission_error',
        code: 'admin_disabled',
        message: 'The admin API is disabled: set WATCHLLM_ADMIN_TOKEN.',
      });
      return c.json(errorBody(err, 'openai'), 403);
    }
    const address = guard?.addressOf(c) ?? '';
    const waitMs = guard ? guard.throttle.waitMs(address) : 0;
    if (waitMs > 0) {
      const seconds = retryAfterSeconds(waitMs);
      const err = new GatewayError({
        status: 429,
        type: 'rate_limit_error',
        code: 'too_many_failed_sign_ins',
        message: `Too many wrong admin tokens from this address: retry in ${seconds} s.`,
      });
      c.header('retry-after', String(seconds));
      return c.json(errorBody(err, 'openai'), 429);
    }
    const presented = BEARER.exec(c.req.header('authorization') ?? '')?.[1];
    // Digest even when nothing was presented, so a missing header costs the same as a wrong one.
    const ok = timingSafeEqual(digest(presented ?? ''), expected) && presented !== undefined;
    if (!ok) {
      // a missing header is no guess at the token: a script without one is told so, not locked out
      if (presented !== undefined) guard?.throttle.failed(address);
      const err = new GatewayError({
        status: 401,
        type: 'authentication_error',
        code: 'invalid_admin_token',
        message:
          presented === undefined
            ? 'Missing admin token: send Authorization: Bearer <WATCHLLM_ADMIN_TOKEN>.'
            : 'Invalid admin token.',
      });
      // RFC 6750 §3: a 401 names the scheme the client should use.
      c.header('www-authenticate', 'Bearer realm="watchllm-admin"');
      return c.json(errorBody(err, 'openai'), 401);
    }
    guard?.throttle.succeeded(address);
    await next();
  };
}
