import { parseRange, parseUsageGroup, usage } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => ({
  usage: await usage(locals.ctx, parseUsageGroup(url.searchParams.get('group')), parseRange(url.searchParams.get('range'), '30d')),
});
