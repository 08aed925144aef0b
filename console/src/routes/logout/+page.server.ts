import { redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import { SESSION_COOKIE, sessionCookie } from '$lib/server/auth.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, `${base}/`);

export const actions: Actions = {
  default: ({ cookies, url }) => {
    cookies.delete(SESSION_COOKIE, sessionCookie(base, url));
    redirect(303, `${base}/login`);
  },
};
