import { redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import { SESSION_COOKIE } from '$lib/server/auth.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, `${base}/`);

export const actions: Actions = {
  default: ({ cookies }) => {
    cookies.delete(SESSION_COOKIE, { path: base });
    redirect(303, `${base}/login`);
  },
};
