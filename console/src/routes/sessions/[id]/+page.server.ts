import { error } from '@sveltejs/kit';
import { sessionTimeline, TIMELINE_LIMIT } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params }) => {
  const view = await sessionTimeline(locals.ctx, params.id);
  if (view.items.length === 0) error(404, { message: `Nothing recorded for session ${params.id}.` });
  return { session: params.id, limit: TIMELINE_LIMIT, ...view };
};
