import { filterValue, overview, parseRange } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  const range = parseRange(url.searchParams.get('range'));
  // undefined: every project; '': calls without one (NONE in the URL)
  const project = filterValue(url.searchParams.get('project'));
  return { overview: await overview(locals.ctx, range, project), project: project ?? null };
};
