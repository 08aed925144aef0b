import { parseRange, policyActivity } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => ({
  view: await policyActivity(locals.ctx, parseRange(url.searchParams.get('range'))),
});
