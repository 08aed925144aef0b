import { toCsv } from '$lib/server/csv.ts';
import { parseRange, parseUsageGroup, usage } from '$lib/server/queries.ts';
import type { RequestHandler } from './$types';

/** The usage table as CSV, for a spreadsheet or an invoice (behind the console's sign-in, like every page). */
export const GET: RequestHandler = async ({ locals, url }) => {
  const u = await usage(locals.ctx, parseUsageGroup(url.searchParams.get('group')), parseRange(url.searchParams.get('range'), '30d'));
  const header = [u.group, ...(u.group === 'key_id' ? ['key_name'] : []), 'from', 'to', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'unpriced_calls', 'p50_ms', 'p95_ms'];
  const from = new Date(u.from).toISOString();
  const to = new Date(u.to).toISOString();
  const body = toCsv(
    header,
    // a row whose calls are all unpriced has no known cost: empty, never 0
    u.rows.map((r) => [r.name, ...(u.group === 'key_id' ? [r.label ?? ''] : []), from, to, r.requests, r.errors, r.prompt_tokens, r.completion_tokens, r.cost_usd === 0 && r.unpriced > 0 ? '' : money(r.cost_usd), r.unpriced, r.p50_ms, r.p95_ms]),
  );
  return new Response(body, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="watchllm-usage-${u.group}-${u.range}.csv"`,
    },
  });
};

/**
 * USD to the 1e-10 in plain decimals, as the gateway's cost header: sums of floats carry noise
 * (0.0005346000000000011), and a spreadsheet or an invoice wants 0.00000004, not 4e-8.
 */
function money(v: number): string {
  const fixed = (Math.round(v * 1e10) / 1e10).toFixed(10);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}
