import { error } from '@sveltejs/kit';
import { sessionTimeline } from '$lib/server/queries.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params }) => {
  const items = await sessionTimeline(locals.ctx, params.id);
  if (items.length === 0) error(404, { message: `Nothing recorded for session ${params.id}.` });
  const calls = items.filter((i) => i.kind === 'request');
  return {
    session: params.id,
    items,
    totals: {
      calls: calls.length,
      cost_usd: calls.reduce((s, c) => s + (c.cost_usd ?? 0), 0),
      tokens: calls.reduce((s, c) => s + c.prompt_tokens + c.completion_tokens, 0),
    },
  };
};
