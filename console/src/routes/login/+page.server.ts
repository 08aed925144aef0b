import { fail, redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import { issueSession, safeNext, SESSION_COOKIE, sessionCookie, tokenMatches } from '$lib/server/auth.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => ({ enabled: locals.ctx.adminToken !== undefined });

export const actions: Actions = {
  default: async ({ request, locals, cookies, url }) => {
    const token = locals.ctx.adminToken;
    if (!token) return fail(403, { error: 'The console is shut: set WATCHLLM_ADMIN_TOKEN and restart.' });
    const submitted = (await request.formData()).get('token');
    if (typeof submitted !== 'string' || !tokenMatches(token, submitted.trim())) {
      return fail(401, { error: 'That is not the admin token.' });
    }
    const session = issueSession(token);
    cookies.set(SESSION_COOKIE, session.value, { ...sessionCookie(base, url), maxAge: session.maxAge });
    redirect(303, safeNext(url.searchParams.get('next'), base));
  },
};
