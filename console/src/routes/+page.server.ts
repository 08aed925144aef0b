import { overview, parseRange } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  const range = parseRange(url.searchParams.get('range'));
  const project = url.searchParams.get('project') || null;
  return { overview: await overview(locals.ctx, range, project), project };
};
