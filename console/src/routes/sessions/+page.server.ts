import { listSessions, parseRange } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  const range = parseRange(url.searchParams.get('range'));
  const user = url.searchParams.get('user')?.trim() || undefined;
  return { range, user: user ?? '', sessions: await listSessions(locals.ctx, range, user ? { user } : {}) };
};
