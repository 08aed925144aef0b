import { fail, redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import { issueSession, safeNext, SESSION_COOKIE, sessionCookie, tokenMatches } from '$lib/server/auth.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => ({ enabled: locals.ctx.adminToken !== undefined });

export const actions: Actions = {
  default: async ({ request, locals, cookies, url, getClientAddress, setHeaders }) => {
    const token = locals.ctx.adminToken;
    if (!token) return fail(403, { error: 'The console is shut: set WATCHLLM_ADMIN_TOKEN and restart.' });
    const guard = locals.ctx.signIns;
    const address = guard ? getClientAddress() : '';
    const refused = () => {
      const waitMs = guard?.waitMs(address) ?? 0;
      if (waitMs <= 0) return null;
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      setHeaders({ 'retry-after': String(seconds) });
      return fail(429, { error: `Too many wrong tokens from your address: try again in ${seconds} s.` });
    };
    const early = refused();
    if (early) return early;
    const submitted = (await request.formData()).get('token');
    // Asked again once the body is in: many sign-ins sent together, their bodies held back, all passed
    // the check above before any was counted. From here to the count nothing waits.
    const late = refused();
    if (late) return late;
    const typed = typeof submitted === 'string' ? submitted.trim() : '';
    if (!tokenMatches(token, typed)) {
      // an empty form is no guess at the token (as a call without one at the admin API): not counted
      if (typed !== '') guard?.failed(address);
      return fail(401, { error: 'That is not the admin token.' });
    }
    guard?.succeeded(address);
    const session = issueSession(token);
    cookies.set(SESSION_COOKIE, session.value, { ...sessionCookie(base, url), maxAge: session.maxAge });
    redirect(303, safeNext(url.searchParams.get('next'), base));
  },
};
