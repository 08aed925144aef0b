import { redirect, type Handle } from '@sveltejs/kit';
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
    redirect(303, `${base}/login${next}`);
  }
  const response = await resolve(event);
  response.headers.set('cache-control', 'private, no-store');
  response.headers.set('x-content-type-options', 'nosniff');
  response.headers.set('referrer-policy', 'no-referrer');
  return response;
};
