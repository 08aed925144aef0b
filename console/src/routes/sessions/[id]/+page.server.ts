import { error } from '@sveltejs/kit';
import { sessionTimeline, TIMELINE_LIMIT } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
  // `?project=acme`: that project's session (the list links so); without it, every project's
  const project = url.searchParams.get('project') ?? undefined;
  const view = await sessionTimeline(locals.ctx, params.id, project);
  if (view.items.length === 0) error(404, { message: `Nothing recorded for session ${params.id}.` });
  return { session: params.id, project: project ?? null, limit: TIMELINE_LIMIT, ...view };
};
