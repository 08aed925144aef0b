import type { ItemState, LimitKind, LimitResult } from './types.ts';

/**
 * OpenAI-style rate-limit headers
 * (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers):
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, the reset as a duration string
 * ("1s", "6m0s", "20ms"). When several limits of a kind apply (key, user, project, model), the
 * one with the least remaining is reported — the one the client will hit first. A refused result
 * also carries `retry-after` in whole seconds (RFC 9110 §10.2.3), rounded up, unless the call is
 * larger than the whole limit.
 */
export function rateLimitHeaders(result: LimitResult): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [kind, suffix] of [['requests', 'requests'], ['tokens', 'tokens']] as const) {
    const s = tightest(result.items, kind);
    if (!s) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(s.item.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(Math.floor(s.remaining));
    headers[`x-ratelimit-reset-${suffix}`] = formatDuration(s.resetMs);
  }
  // A call larger than the whole limit never fits: no wait helps, so no retry hint.
  if (!result.allowed && result.refused.item.cost <= result.refused.item.limit) {
    headers['retry-after'] = String(retryAfterSeconds(result.refused.retryAfterMs));
  }
  return headers;
}

export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function tightest(items: ItemState[], kind: LimitKind): ItemState | undefined {
  let best: ItemState | undefined;
  for (const s of items) {
    if (s.item.kind !== kind) continue;
    if (!best || s.remaining < best.remaining || (s.remaining === best.remaining && s.item.limit < best.item.limit)) best = s;
  }
  return best;
}

/** Go-style duration as OpenAI sends it: "0s", "20ms", "1s", "1.5s", "6m0s", "2h3m4s". */
export function formatDuration(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  if (t === 0) return '0s';
  if (t < 1000) return `${t}ms`;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const sMs = t % 60_000;
  const s = sMs % 1000 === 0 ? String(sMs / 1000) : (sMs / 1000).toFixed(3).replace(/0+$/, '');
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * USD budgets at or past a soft threshold (default 80%), for an alert flag on the event: what was
 * already spent or reserved by other calls when this one came, never this call's own reservation (a
 * worst case: its whole max_tokens), which would flag a budget 1% spent.
 */
export function budgetsOverThreshold(result: LimitResult, ratio = 0.8): ItemState[] {
  return result.items.filter((s) => s.item.kind === 'usd' && s.item.limit > 0 && s.used - s.item.cost >= s.item.limit * ratio);
}
