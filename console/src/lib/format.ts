/** How the console shows numbers, money, durations and times (all times in UTC, as stored). */

/**
 * The filter value standing for an empty column (no project, no model: a call refused before it had
 * one). A filter left blank in a form means "any", so empty itself needs a name.
 */
export const NONE = '(none)';

const int = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function count(n: number): string {
  return int.format(n);
}

export function short(n: number): string {
  return n < 10_000 ? int.format(n) : compact.format(n);
}

/**
 * Dollars with the precision small amounts need ($0.000150 for one short call), and `unpriced`
 * for a call of a model without a known price: its cost is unknown, never $0.
 */
export function usd(n: number | null, priced = true): string {
  if (n === null || !priced) return 'unpriced';
  if (n === 0) return '$0';
  const abs = Math.abs(n);
  // a real cost below what six decimals show is not $0.000000
  if (abs < 0.000001) return n > 0 ? '<$0.000001' : '>-$0.000001';
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  return `$${n.toFixed(digits)}`;
}

export function ms(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '–';
  if (n < 10) return `${n.toFixed(1)} ms`;
  if (n < 10_000) return `${Math.round(n)} ms`;
  return `${(n / 1000).toFixed(1)} s`;
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return '–';
  const p = (part / whole) * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC) of a stored DateTime64 text, without the milliseconds. */
export function when(ts: string): string {
  return ts.slice(0, 19);
}

/** A chart bar's label: the time of day for short ranges, the date for long ones. */
export function barLabel(t: number, stepMs: number): string {
  const iso = new Date(t).toISOString();
  return stepMs >= 86_400_000 ? iso.slice(0, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** Bodies are stored as sent; JSON is shown indented, anything else as it is. */
export function pretty(body: string): string {
  if (!body) return '';
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** Colour class of an outcome: success, cache hit, refused (policy/limit/invalid), or failed. */
export function tone(outcome: string): 'ok' | 'hit' | 'warn' | 'bad' {
  if (outcome === 'success') return 'ok';
  if (outcome === 'cache_hit') return 'hit';
  if (outcome === 'denied_policy' || outcome === 'denied_limit' || outcome === 'invalid' || outcome === 'unauthorized' || outcome === 'client_closed') return 'warn';
  return 'bad';
}

export const OUTCOMES = [
  'success',
  'cache_hit',
  'invalid',
  'unauthorized',
  'upstream_error',
  'timeout',
  'upstream_unreachable',
  'client_closed',
  'denied_policy',
  'denied_limit',
  'internal_error',
] as const;

/** A call's cost: `unpriced` when it used tokens of a model without a price, `–` when it used none. */
export function callCost(r: { cost_usd: number | null; priced: boolean; prompt_tokens: number; completion_tokens: number }): string {
  if (!r.priced && r.prompt_tokens + r.completion_tokens > 0) return 'unpriced';
  return r.cost_usd === null ? '–' : usd(r.cost_usd);
}

/**
 * The page of a call's or an event's session, under `base`: sessions are a project's, and without a
 * project the provider key's that made them (`owner`, `byok:<fingerprint>`; see listSessions).
 */
export function sessionHref(base: string, session: string, project: string, owner = ''): string {
  const key = project === '' && owner.startsWith('byok:') ? `&key_id=${encodeURIComponent(owner)}` : '';
  return `${base}/sessions/${encodeURIComponent(session)}?project=${encodeURIComponent(project)}${key}`;
}

/** How the console names a call's tenant without a project: `byok:<fingerprint>` of its provider key, or ''. */
export function byokOwner(r: { project: string; key_fingerprint: string }): string {
  return r.project === '' && r.key_fingerprint !== '' ? `byok:${r.key_fingerprint}` : '';
}
