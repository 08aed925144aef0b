import { compileGlob } from '@watchllm/policies';
import { MEDIA_ENDPOINTS, type Price } from '@watchllm/providers';
import type { Config } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import type { Exchange, LimitRef } from '../exchange.ts';
import { estimatePromptTokens } from '../usage/prompt-estimate.ts';
import { awaitsBackground } from './finish.ts';
import { mediaReservation, worstCaseOf } from './media.ts';
import { isStoredResponse } from './parse.ts';
import type { SettleBatcher } from './settle-batch.ts';
import {
  budgetsOverThreshold,
  EPSILON,
  rateLimitHeaders,
  retryAfterSeconds,
  StoreUnavailableError,
  type KeyRecord,
  type LimitItem,
  type LimitResult,
  type LimitStore,
} from '../stores/index.ts';

type LimitSet = { rpm?: number | undefined; tpm?: number | undefined; tpd?: number | undefined };
type Budget = { usd: number; period: 'day' | 'month' };

/** What a call reserved, so it can be settled to the real amounts afterwards. */
export interface Reservation {
  now: number;
  items: LimitItem[];
  tokens: number;
  usd: number;
  /** The prompt's share of `usd` (the rest is the output allowance). */
  promptUsd: number;
  /** USD left in the tightest budget after this reservation (Infinity without budgets). */
  headroomUsd: number;
}

export interface LimitPlan {
  items: LimitItem[];
  tokens: number;
  usd: number;
  promptUsd: number;
}

/** Compiled once per config: model globs for per-model limits. */
export function compileModelLimits(config: Config): Array<{ pattern: RegExp; limits: LimitSet }> {
  return Object.entries(config.limits.models).map(([glob, limits]) => ({ pattern: compileGlob(glob), limits }));
}

/**
 * Every limit and budget that applies to this call, with what the call reserves:
 * 1 request; a token estimate (prompt bytes / 4, inline images at a fixed allowance, see
 * `estimatePromptTokens`, + the requested max output, settled later); and for budgets the most the
 * call can cost (unpriced models reserve $0: they cannot be budgeted). Listing a model, counting
 * tokens and a stored response's calls (retrieve, delete, cancel, input items) generate nothing and
 * cost nothing: they count as a request only.
 */
export function limitItems(
  x: Exchange,
  key: KeyRecord | null,
  config: Config,
  models: ReadonlyArray<{ pattern: RegExp; limits: LimitSet }>,
  price: Price | null,
): LimitPlan {
  const generates = x.endpoint !== 'models' && x.endpoint !== 'count_tokens' && !isStoredResponse(x);
  const body = x.request.body ?? {};
  const maxOut = num(body['max_completion_tokens']) ?? num(body['max_tokens']) ?? num(body['max_output_tokens']);
  // `n` answers (chat, completions) may each use the whole output allowance
  const choices = x.endpoint === 'chat' || x.endpoint === 'completions' ? Math.max(1, Math.floor(num(body['n']) ?? 1)) : 1;
  // A form's bytes are mostly its audio file, which no text estimate fits: its text fields count.
  const bytes = x.request.form ? Buffer.byteLength(x.request.raw ?? '') : x.request.bytes;
  const promptEstimate = generates ? estimatePromptTokens(x.request.body, bytes) : 0;
  // a media call's most (n images, speech's characters) stands for a chat call's max_tokens (media.ts)
  const media = MEDIA_ENDPOINTS.has(x.endpoint) ? mediaReservation(x, price) : null;
  const tokens = generates ? promptEstimate + (media ? media.tokens : (maxOut ?? 0) * choices) : 0;
  const promptUsd = price ? (promptEstimate * price.input) / 1e6 : 0;
  const usd =
    price && generates ? promptUsd + (media ? media.usd : ((maxOut ?? config.budgets.default_max_tokens) * choices * price.output) / 1e6) : 0;

  const items: LimitItem[] = [];
  const add = (scope: LimitItem['scope'], id: string, set: LimitSet | undefined) => {
    if (!set) return;
    if (set.rpm) items.push({ scope, id, kind: 'requests', window: 'minute', limit: set.rpm, cost: 1 });
    if (!generates) return;
    if (set.tpm) items.push({ scope, id, kind: 'tokens', window: 'minute', limit: set.tpm, cost: tokens });
    if (set.tpd) items.push({ scope, id, kind: 'tokens', window: 'day', limit: set.tpd, cost: tokens });
  };
  const budget = (scope: LimitItem['scope'], id: string, b: Budget | undefined) => {
    if (b && generates) items.push({ scope, id, kind: 'usd', window: b.period, limit: b.usd, cost: usd });
  };

  const byok = x.auth.providerKeyFingerprint ? `byok:${x.auth.providerKeyFingerprint}` : null;
  const keyId = x.auth.keyId ?? byok;
  if (keyId) {
    add('key', keyId, key?.limits ?? config.limits.key);
    budget('key', keyId, key?.budget);
  }
  const project = x.auth.project;
  if (x.meta.user) {
    // A user is someone of a project; without a project (BYOK), of the provider key's owner: two
    // tenants' "alice" never share a limit or a budget.
    const userId = `${project ?? byok ?? ''}/${x.meta.user}`;
    add('user', userId, config.limits.user);
    budget('user', userId, config.budgets.user);
  }
  if (project) {
    add('project', project, config.limits.project);
    budget('project', project, config.budgets.projects[project] ?? config.budgets.project);
  }
  if (x.route) {
    const model = `${x.route.provider}/${x.route.model}`;
    for (const m of models) if (m.pattern.test(x.route.model) || m.pattern.test(model)) add('model', model, m.limits);
  }
  return { items: tightest(items), tokens, usd, promptUsd };
}

/**
 * One item per counter: two model globs matching one model name the same counter, and a check must
 * not count a call twice in it. The tighter limit holds.
 */
function tightest(items: LimitItem[]): LimitItem[] {
  const byCounter = new Map<string, LimitItem>();
  for (const i of items) {
    const id = `${i.scope}\0${i.id}\0${i.kind}\0${i.window}`;
    const seen = byCounter.get(id);
    if (!seen || i.limit < seen.limit) byCounter.set(id, i);
  }
  return byCounter.size === items.length ? items : [...byCounter.values()];
}

/** The plan of a cache hit: it counts as a request, and costs no tokens and no money. */
export function requestsOnly(plan: LimitPlan): LimitPlan {
  return { items: plan.items.filter((i) => i.kind === 'requests'), tokens: 0, usd: 0, promptUsd: 0 };
}

/** Checks and reserves every item at once; refuses with 429 (rate) or 402 (budget). */
export async function reserve(
  x: Exchange,
  store: LimitStore,
  plan: LimitPlan,
  softThreshold: number,
  settles: SettleBatcher,
): Promise<Reservation | null> {
  if (plan.items.length === 0) return null;
  const now = Date.now();
  let result: LimitResult;
  try {
    // Pending settlements of earlier calls go first: the check, sent after them, sees them.
    void settles.flush();
    result = await store.check({ now, items: plan.items });
  } catch (e) {
    if (e instanceof StoreUnavailableError) {
      throw new GatewayError({
        status: 503,
        type: 'api_error',
        code: 'limits_unavailable',
        outcome: 'denied_limit',
        message: 'The rate-limit store is unavailable and the gateway is configured to fail closed. Retry shortly.',
        headers: { 'retry-after': '1' },
      });
    }
    throw e;
  }
  Object.assign(x.responseHeaders, rateLimitHeaders(result));
  if (!result.allowed) {
    const r = result.refused;
    x.limits = { decision: 'denied', refused: limitRef(r.item) };
    throw refusal(r.item, r.used, r.retryAfterMs, now + r.resetMs, x.responseHeaders, worstCaseOf(x));
  }
  if (result.degraded) {
    // Admitted uncounted (limits store down, fail_mode open): nothing was reserved, so the call
    // settles its whole real usage (real - 0) once the store is back. Settling real - the plan's
    // worst case would subtract from counters that never held it: other calls' real spend.
    x.limits = { decision: 'degraded' };
    return { now, items: plan.items.map((i) => ({ ...i, cost: 0 })), tokens: 0, usd: 0, promptUsd: 0, headroomUsd: Infinity };
  }
  // what was spent (or reserved by others) when the call came, as budgetsOverThreshold judges it
  const soft = budgetsOverThreshold(result, softThreshold).map((s) => ({ ...limitRef(s.item), ratio: (s.used - s.item.cost) / s.item.limit }));
  x.limits = { decision: 'allowed', ...(soft.length ? { softThreshold: soft } : {}) };
  const headroomUsd = Math.min(Infinity, ...result.items.filter((s) => s.item.kind === 'usd').map((s) => s.remaining));
  return { now, ...plan, headroomUsd };
}

/**
 * Replaces the reservation with what the call really used (cache hits and failures use nothing):
 * each item is settled by real - reserved (its `cost`; 0 for a call admitted uncounted, which then
 * is charged in full and gives nothing back).
 */
export function settleReservation(settles: SettleBatcher, r: Reservation, x: Exchange): void {
  // A background response answered `queued` uses what it uses later, unseen here (its usage is
  // recorded on a retrieval of it): its token windows and budgets keep what it reserved, the most it
  // may use, rather than count it as free.
  if (awaitsBackground(x)) return;
  const served = x.outcome !== 'cache_hit';
  const u = served ? x.response.usage : null;
  const tokens = u ? u.promptTokens + u.completionTokens : 0;
  const usd = served ? (x.costUsd ?? 0) : 0;
  const items = r.items
    .filter((i) => i.kind !== 'requests')
    .map(({ cost, ...i }) => ({ ...i, delta: (i.kind === 'tokens' ? tokens : usd) - cost }))
    .filter((i) => i.delta !== 0);
  if (items.length > 0) settles.add(r.now, items);
}

/**
 * The refusal of `item`: 402 for a budget (SDKs do not retry it), 429 for a rate limit, with
 * `retry-after` when waiting makes room. A call larger than the whole limit never fits: it is told
 * so, without a retry hint (OpenAI's "Request too large").
 */
function refusal(
  item: LimitItem,
  used: number,
  retryAfterMs: number,
  resetAt: number,
  headers: Record<string, string>,
  worst: { of: string; lower: string },
): GatewayError {
  const tooLarge = item.cost > item.limit;
  const retryS = retryAfterSeconds(retryAfterMs);
  const unit = item.kind === 'usd' ? null : item.kind === 'requests' ? 'requests' : 'tokens';
  const where = `${item.scope} '${item.id}'`;
  let message: string;
  if (unit === null) {
    const resets = new Date(resetAt).toISOString();
    // `used` counts what is spent and what calls in flight reserved (given back as they settle).
    const left = item.limit - used;
    if (tooLarge) {
      message =
        `This call may cost up to ${usd(item.cost, 4)} (${worst.of}), more than the whole budget of ${where}: ` +
        `${usd(item.limit)} per ${item.window}. Lower ${worst.lower} or the prompt.`;
    } else if (left <= EPSILON) {
      message = `Budget exhausted for ${where}: ${usd(item.limit)} per ${item.window}, ${usd(used, 4)} used. It resets at ${resets}.`;
    } else {
      // Room is left, but not this call's worst case: say so, or the client would believe the budget spent.
      message =
        `This call's maximum cost does not fit in what is left of the budget of ${where} (${usd(item.limit)} per ${item.window}): ` +
        `${usd(left, 4)} left, this call may cost up to ${usd(item.cost, 4)} (${worst.of}). ` +
        `Lower ${worst.lower}, or wait until ${resets}, when the budget resets.`;
    }
  } else {
    message = tooLarge
      ? `Request too large for ${where} on ${unit} per ${item.window}: limit ${item.limit}, requested ${item.cost}. ` +
        `The prompt or ${worst.lower} must be reduced for it to run.`
      : `Rate limit reached for ${where} on ${unit} per ${item.window}: limit ${item.limit}, used ${used}, ` +
        `requested ${item.cost}. Please try again in ${retryS}s.`;
  }
  return new GatewayError({
    status: unit === null ? 402 : 429,
    type: unit ?? 'insufficient_quota',
    code: unit === null ? 'budget_exceeded' : 'rate_limit_exceeded',
    outcome: 'denied_limit',
    headers: tooLarge ? headers : { ...headers, 'retry-after': String(retryS) },
    message,
  });
}

/**
 * Dollars with `digits` decimals (cents for limits, 4 for amounts spent), and enough more for an
 * amount smaller than that shows (a $0.000001 budget is not "$0.00").
 */
function usd(n: number, digits = 2): string {
  if (n === 0 || n >= 10 ** -digits) return `$${n.toFixed(digits)}`;
  return `$${n.toFixed(Math.min(10, 1 - Math.floor(Math.log10(n))))}`;
}

function limitRef(i: LimitItem): LimitRef {
  return { scope: i.scope, id: i.id, kind: i.kind, window: i.window };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}
