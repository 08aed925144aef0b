import { error } from '@sveltejs/kit';
import { BYOK, sessionTimeline, TIMELINE_LIMIT } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
  // `?project=acme`: that project's session (the list links so); without it, every project's
  const project = url.searchParams.get('project') ?? undefined;
  // `?project=&key_id=byok:<fingerprint>`: the session of calls without a project made with that
  // provider key; `?project=` alone, of the calls without a project that brought no key
  const keyId = url.searchParams.get('key_id');
  const owner = project === '' && keyId?.startsWith(BYOK) ? keyId : null;
  const view = await sessionTimeline(locals.ctx, params.id, project, owner ?? undefined);
  if (view.items.length === 0) error(404, { message: `Nothing recorded for session ${params.id}.` });
  return { session: params.id, project: project ?? null, owner, limit: TIMELINE_LIMIT, ...view };
};
