import { listEvents, parseEventFilters } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  const filters = parseEventFilters(url.searchParams);
  const after = url.searchParams.get('after');
  return { filters, after, page: await listEvents(locals.ctx, filters, after) };
};
