import { listRequests, parseFilters } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  const filters = parseFilters(url.searchParams);
  const after = url.searchParams.get('after');
  return { filters, after, page: await listRequests(locals.ctx, filters, after) };
};
