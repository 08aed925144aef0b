import { error } from '@sveltejs/kit';
import { getRequest } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params }) => {
  const found = await getRequest(locals.ctx, params.id);
  if (!found) error(404, { message: `No call with id ${params.id} (it may not be written yet: events are batched for a few seconds).` });
  return found;
};
