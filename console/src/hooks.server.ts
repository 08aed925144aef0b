import type { Handle, HandleServerError } from '@sveltejs/kit';
import { base } from '$app/paths';
import { SESSION_COOKIE, sessionValid } from '$lib/server/auth.ts';
import { consoleContext } from '$lib/server/connect.ts';

/**
 * Every page but the sign-in page needs a session (auth.ts); the answers are never cached and
 * never framed: they show prompts, answers and spend.
 */
export const handle: Handle = async ({ event, resolve }) => {
  const ctx = consoleContext(event.platform?.req);
  event.locals.ctx = ctx;
  const path = event.url.pathname;
  const signIn = path === `${base}/login`;
  if (!signIn && !(ctx.adminToken && sessionValid(ctx.adminToken, event.cookies.get(SESSION_COOKIE)))) {
    const next = path === base || path === `${base}/` ? '' : `?next=${encodeURIComponent(path + event.url.search)}`;
    // Returned, not thrown with redirect(): for a URL SvelteKit cannot decode it calls this hook from
    // inside its own error handling, where a thrown redirect escapes as an unhandled rejection (the
    // gateway logs those and carries on, process-guards.ts, but the visitor would get no redirect).
    return new Response(null, { status: 303, headers: { location: `${base}/login${next}`, 'cache-control': 'no-store' } });
  }
  const response = await resolve(event);
  response.headers.set('cache-control', 'private, no-store');
  response.headers.set('x-content-type-options', 'nosniff');
  // not no-referrer: Chrome then sends `Origin: null` with form posts, which the CSRF check refuses
  response.headers.set('referrer-policy', 'same-origin');
  return response;
};

/**
 * A page that fails (ClickHouse unreachable, a query refused) says so without details, which go to
 * stderr as one JSON line like the gateway's own log lines (they may name hosts and tables). A bad
 * request (a URL that cannot be decoded, an unknown page) keeps SvelteKit's own message.
 */
export const handleError: HandleServerError = ({ error, event, status, message }) => {
  if (status < 500) return { message };
  const err = error instanceof Error ? { name: error.name, message: error.message } : { message: String(error) };
  process.stderr.write(`${JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: 'console page failed', path: event.url.pathname, err })}\n`);
  return { message: 'The console could not read the event store. The details are in the log.' };
};
