import { NONE } from '../format.ts';
import type { ConsoleContext } from './context.ts';

/**
 * What the console's pages read. Every value reaches ClickHouse as a typed query parameter
 * (`{name:Type}`); the only text spliced into SQL is the validated database name. Charts and
 * totals come from the minute rollup (`requests_1m`), so they stay fast at tens of millions of
 * calls; lists and single calls read `requests`, keyset-paginated on (ts, request_id).
 */

export const RANGES = { '1h': 60, '24h': 24 * 60, '7d': 7 * 24 * 60, '30d': 30 * 24 * 60 } as const;
export type Range = keyof typeof RANGES;
/** Minutes per chart bar for each range: 60, 48, 56 and 30 bars. */
const STEP_MINUTES: Record<Range, number> = { '1h': 1, '24h': 30, '7d': 180, '30d': 1440 };

export function parseRange(v: string | null, fallback: Range = '24h'): Range {
  return v !== null && Object.hasOwn(RANGES, v) ? (v as Range) : fallback;
}

const MINUTE = 60_000;

/** 'YYYY-MM-DD HH:MM:SS.mmm', the DateTime64(3, 'UTC') text form. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}


/**
 * [from, to) of whole chart bars holding the whole range up to now: from the bar holding
 * now - range to the bar holding now (one bar more than the range when it does not start on a
 * bar's edge). Links to the calls behind a number pass this `from`, so the list shows exactly them.
 */
export function rangeWindow(range: Range, now: number): { from: number; to: number; stepMs: number } {
  const stepMs = STEP_MINUTES[range] * MINUTE;
  const from = Math.floor((now - RANGES[range] * MINUTE) / stepMs) * stepMs;
  const to = Math.floor(now / stepMs) * stepMs + stepMs;
  return { from, to, stepMs };
}


/** A filter value from a URL: absent or blank is no filter, NONE is the empty value. */
export function filterValue(v: string | null | undefined): string | undefined {
  const t = v?.trim();
  if (!t) return undefined;
  return t === NONE ? '' : t.slice(0, 500);
}

async function rows<T>(ctx: ConsoleContext, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await ctx.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

export interface Totals {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  /** calls with tokens but no known price: their cost is unknown, not zero */
  unpriced: number;
  /** null without calls */
  p50_ms: number | null;
  p95_ms: number | null;
  ttft_p50_ms: number | null;
}

export interface ModelRow extends Omit<Totals, 'cached_tokens' | 'reasoning_tokens' | 'ttft_p50_ms' | 'p50_ms' | 'p95_ms'> {
  model: string;
  provider: string;
  p50_ms: number;
  p95_ms: number;
}

export interface SpendRow {
  project: string;
  key_id: string;
  requests: number;
  errors: number;
  cost_usd: number;
  unpriced: number;
}

export interface Bar {
  /** bucket start, epoch ms */
  t: number;
  requests: number;
  errors: number;
  cost_usd: number;
  tokens: number;
}

/** A budget seen at or past its soft threshold (requests.budget_soft) in the range. */
export interface SoftBudget {
  scope: string;
  id: string;
  window: string;
  /** the share spent as of the last call that saw it */
  latest: number;
  last_ts: string;
  calls: number;
}

export interface Overview {
  range: Range;
  budgets: SoftBudget[];
  from: number;
  to: number;
  stepMs: number;
  totals: Totals;
  series: Bar[];
  models: ModelRow[];
  spenders: SpendRow[];
  outcomes: { outcome: string; requests: number }[];
  cache: { hits: number; saved_usd: number };
  projects: string[];
}

/** A call that did not give the client an answer: an error, as the minute rollup counts them. */
const FAILED = `outcome NOT IN ('success', 'cache_hit')`;

/**
 * Errors, known cost and unpriced calls (tokens used, no known price) summed over calls of
 * `requests`; `t` qualifies the columns (`r.`) where the output names reuse theirs.
 */
const callTotals = (t = '') =>
  `countIf(${t}${FAILED}) AS errors, sum(ifNull(${t}cost_usd, 0)) AS cost_usd,
   countIf(NOT ${t}priced AND ${t}prompt_tokens + ${t}completion_tokens > 0) AS unpriced`;

const SUMS = `sum(requests) AS requests, sum(errors) AS errors,
  sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
  sum(cost_usd) AS cost_usd, sum(unpriced) AS unpriced`;

type Quantiles = { latency: number[] };

/** The dashboard: totals, a chart series, the models and the biggest spenders of a time range. */
export async function overview(ctx: ConsoleContext, range: Range, project: string | undefined, now = Date.now()): Promise<Overview> {
  const { from, to, stepMs } = rangeWindow(range, now);
  const db = ctx.database;
  const params: Record<string, unknown> = { from: chTime(from), to: chTime(to), step: stepMs / MINUTE };
  const inProject = project === undefined ? '' : ' AND project = {project:String}';
  if (project !== undefined) params.project = project;
  // the rollup's minutes, and the calls themselves, in the same window
  const where = `minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}${inProject}`;
  const rawWhere = `ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}${inProject}`;

  const [totals, series, models, spenders, outcomes, cache, projects, budgets] = await Promise.all([
    rows<Omit<Totals, 'p50_ms' | 'p95_ms' | 'ttft_p50_ms'> & Quantiles & { ttft: (number | null)[] }>(
      ctx,
      `SELECT ${SUMS}, sum(cached_tokens) AS cached_tokens, sum(reasoning_tokens) AS reasoning_tokens,
         quantilesMerge(0.5, 0.95, 0.99)(latency_ms) AS latency, quantilesMerge(0.5, 0.95)(ttft_ms) AS ttft
       FROM ${db}.requests_1m WHERE ${where}`,
      params,
    ),
    rows<Bar>(
      ctx,
      `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalMinute({step:UInt32}))) * 1000 AS t,
         sum(requests) AS requests, sum(errors) AS errors, sum(cost_usd) AS cost_usd,
         sum(prompt_tokens) + sum(completion_tokens) AS tokens
       FROM ${db}.requests_1m WHERE ${where} GROUP BY t ORDER BY t`,
      params,
    ),
    rows<Omit<ModelRow, 'p50_ms' | 'p95_ms'> & Quantiles>(
      ctx,
      `SELECT model, provider, ${SUMS}, quantilesMerge(0.5, 0.95, 0.99)(latency_ms) AS latency
       FROM ${db}.requests_1m WHERE ${where}
       GROUP BY model, provider ORDER BY requests DESC, model LIMIT 25`,
      params,
    ),
    rows<SpendRow>(
      ctx,
      `SELECT project, key_id, sum(requests) AS requests, sum(errors) AS errors, sum(cost_usd) AS cost_usd, sum(unpriced) AS unpriced
       FROM ${db}.requests_1m WHERE ${where}
       GROUP BY project, key_id ORDER BY cost_usd DESC, requests DESC LIMIT 10`,
      params,
    ),
    rows<{ outcome: string; requests: number }>(
      ctx,
      `SELECT outcome, count() AS requests FROM ${db}.requests WHERE ${rawWhere} GROUP BY outcome ORDER BY requests DESC`,
      params,
    ),
    rows<{ hits: number; saved_usd: number }>(
      ctx,
      `SELECT countIf(outcome = 'cache_hit') AS hits, sum(ifNull(cost_saved_usd, 0)) AS saved_usd
       FROM ${db}.requests WHERE ${rawWhere}`,
      params,
    ),
    rows<{ project: string }>(
      ctx,
      `SELECT DISTINCT project FROM ${db}.requests_1m
       WHERE minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')} ORDER BY project LIMIT 200`,
      params,
    ),
    // each call's budgets at or past the soft threshold, one row per budget: the latest share spent
    rows<SoftBudget>(
      ctx,
      `SELECT JSONExtractString(b, 'scope') AS scope, JSONExtractString(b, 'id') AS id, JSONExtractString(b, 'window') AS window,
         argMax(JSONExtractFloat(b, 'ratio'), ts) AS latest, toString(max(ts)) AS last_ts, count() AS calls
       FROM ${db}.requests ARRAY JOIN JSONExtractArrayRaw(budget_soft) AS b
       WHERE ${rawWhere} AND budget_soft != ''
       GROUP BY scope, id, window ORDER BY latest DESC, scope, id LIMIT 20`,
      params,
    ),
  ]);

  const t = totals[0];
  const byBucket = new Map(series.map((b) => [Number(b.t), b]));
  const bars: Bar[] = [];
  for (let at = from; at < to; at += stepMs) {
    const b = byBucket.get(at);
    bars.push(b ? { ...b, t: at } : { t: at, requests: 0, errors: 0, cost_usd: 0, tokens: 0 });
  }
  const empty = !t || t.requests === 0;
  return {
    range,
    from,
    to,
    stepMs,
    budgets,
    totals: {
      requests: t?.requests ?? 0,
      errors: t?.errors ?? 0,
      prompt_tokens: t?.prompt_tokens ?? 0,
      completion_tokens: t?.completion_tokens ?? 0,
      cached_tokens: t?.cached_tokens ?? 0,
      reasoning_tokens: t?.reasoning_tokens ?? 0,
      cost_usd: t?.cost_usd ?? 0,
      unpriced: t?.unpriced ?? 0,
      // quantiles of nothing come back as 0 or nan: none
      p50_ms: empty ? null : finite(t.latency[0]),
      p95_ms: empty ? null : finite(t.latency[1]),
      ttft_p50_ms: empty || !Number.isFinite(t.ttft[0]) ? null : (t.ttft[0] as number),
    },
    series: bars,
    models: models.map(({ latency, ...m }) => ({ ...m, p50_ms: finite(latency[0]), p95_ms: finite(latency[1]) })),
    spenders,
    outcomes,
    cache: cache[0] ?? { hits: 0, saved_usd: 0 },
    projects: projects.map((p) => p.project),
  };
}

function finite(v: number | null | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** The list's filters, as they come from the page's query string. */
export interface RequestFilters {
  range: Range | 'all';
  /** epoch ms: calls from then on, in place of the range (links from the overview's numbers) */
  from?: number;
  project?: string;
  model?: string;
  provider?: string;
  outcome?: string;
  status_code?: number;
  key_id?: string;
  user?: string;
  session?: string;
  /** the trace the call was made in (traceparent or x-watchllm-trace-id) */
  trace_id?: string;
  /** a policy that matched the call (by name), enforced or in shadow */
  policy?: string;
  /** case-insensitive substring of the request or response body */
  q?: string;
}

/** The range value that takes its start from `from` (epoch ms). */
export const SINCE = 'since';

/** The outcome filter's value for every failed or refused call. */
export const ERRORS = 'errors';

export const FILTER_NAMES = ['project', 'model', 'provider', 'outcome', 'status_code', 'key_id', 'user', 'session', 'trace_id', 'policy', 'q'] as const;

/**
 * The last time the event store holds: `ts` is a DateTime64(3), years 1900 to 2299. A later `from`
 * selects nothing at best, and past what a Date holds chTime throws (the page answered 500).
 */
const LAST_STORED_MS = Date.UTC(2300, 0, 1) - 1;

/** Plain decimal digits as a number; null for anything else (Number() reads '' as 0, '0x10' as 16, '1e3' as 1000). */
function decimal(v: string | null): number | null {
  return v !== null && /^\d{1,16}$/.test(v) ? Number(v) : null;
}

/** Filters from a URL's query string; anything unusable is left out rather than failing the page. */
export function parseFilters(search: URLSearchParams): RequestFilters {
  const range = search.get('range');
  const f: RequestFilters = { range: range === 'all' ? 'all' : parseRange(range) };
  // `range=since&from=<epoch ms>`: the calls behind one of the overview's numbers
  const from = decimal(search.get('from'));
  if (range === SINCE && from !== null && from <= LAST_STORED_MS) {
    f.range = 'all';
    f.from = from;
  }
  for (const name of FILTER_NAMES) {
    const v = filterValue(search.get(name));
    if (v === undefined || (v === '' && name === 'q')) continue;
    if (name === 'status_code') {
      const n = decimal(v);
      if (n !== null && n <= 999) f.status_code = n;
    } else {
      f[name] = v;
    }
  }
  return f;
}

export interface RequestSummary {
  request_id: string;
  ts: string;
  project: string;
  key_id: string;
  /** the provider key's fingerprint, for a call that brought its own (BYOK) */
  key_fingerprint: string;
  user: string;
  session: string;
  endpoint: string;
  provider: string;
  model: string;
  stream: boolean;
  status_code: number;
  outcome: string;
  error_message: string;
  cache_status: string;
  policy_outcome: string;
  prompt_tokens: number;
  completion_tokens: number;
  usage_source: string;
  cost_usd: number | null;
  priced: boolean;
  latency_ms: number;
  ttft_ms: number | null;
}

const SUMMARY = `request_id, ts, project, key_id, key_fingerprint, user, session, endpoint, provider, model, stream, status_code,
  outcome, error_message, cache_status, policy_outcome, prompt_tokens, completion_tokens, usage_source,
  cost_usd, priced, latency_ms, ttft_ms`;

export interface RequestPage {
  rows: RequestSummary[];
  /** the (ts, request_id) to continue after, for the next (older) page; null on the last page */
  next: string | null;
}

const CURSOR = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\|(.+)$/;

/** A list's WHERE clauses and their parameters, built up filter by filter. */
class Where {
  readonly clauses: string[] = [];
  readonly params: Record<string, unknown> = {};

  /** `column = {column:Type}` when the value is given */
  eq(column: string, type: string, value: unknown): void {
    if (value === undefined) return;
    this.clauses.push(`${column} = {${column}:${type}}`);
    this.params[column] = value;
  }

  /**
   * Rows of the last `range` before now, or from `from` on (none for all time). `until` caps times
   * that clients set themselves (reported events), so one dated 2099 does not top every range.
   */
  since(range: Range | 'all', now: number, opts: { from?: number | undefined; until?: number } = {}): void {
    const from = opts.from ?? (range === 'all' ? undefined : now - RANGES[range] * MINUTE);
    if (from !== undefined) {
      this.clauses.push(`ts >= {from:DateTime64(3, 'UTC')}`);
      this.params.from = chTime(from);
    }
    if (opts.until !== undefined && range !== 'all') {
      this.clauses.push(`ts < {until:DateTime64(3, 'UTC')}`);
      this.params.until = chTime(opts.until);
    }
  }
}

/**
 * Newest first, keyset-paginated on (ts, id): as fast on page 1000 as on page 1, and stable while
 * rows arrive, unlike OFFSET. The cursor is the last row's `ts|id`.
 */
async function keysetPage<T extends { ts: string }>(
  ctx: ConsoleContext,
  q: { table: string; columns: string; id: keyof T & string; where: Where; cursor: string | null; limit: number },
): Promise<{ rows: T[]; next: string | null }> {
  const { clauses, params } = q.where;
  const c = q.cursor ? CURSOR.exec(q.cursor) : null;
  if (c) {
    clauses.push(`(ts, ${q.id}) < ({cursor_ts:DateTime64(3, 'UTC')}, {cursor_id:String})`);
    params.cursor_ts = c[1];
    params.cursor_id = c[2];
  }
  params.limit = q.limit + 1;
  // LIMIT 1 BY: a row stored twice (a replay older than the deduplication window, an event sent
  // again) is listed once
  const list = await rows<T>(
    ctx,
    `SELECT ${q.columns} FROM ${ctx.database}.${q.table}
     ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
     ORDER BY ts DESC, ${q.id} DESC LIMIT 1 BY ${q.id} LIMIT {limit:UInt32}`,
    params,
  );
  const more = list.length > q.limit;
  if (more) list.length = q.limit;
  const last = list.at(-1);
  return { rows: list, next: more && last ? `${last.ts}|${String(last[q.id])}` : null };
}

/** `s` as written inside a JSON string, and that with non-ASCII as `\uXXXX` too (Python's json.dumps). */
const jsonEscaped = (s: string): string => JSON.stringify(s).slice(1, -1);
const asciiEscaped = (s: string): string =>
  jsonEscaped(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The forms the search text may take in a stored body, the JSON text the client sent: as typed,
 * JSON-escaped (`"` is `\"`, a newline `\n`), and with non-ASCII escaped too (`crème` is
 * `cr\u00e8me`), lowercased and uppercased since case folding does not reach into an escape. The
 * same as the gateway's query API (gateway/src/events/query.ts, `bodyNeedles`).
 */
function bodyNeedles(q: string): string[] {
  const forms = new Map<string, string>();
  for (const f of [q, jsonEscaped(q), asciiEscaped(q.toLowerCase()), asciiEscaped(q.toUpperCase())]) {
    if (!forms.has(f.toLowerCase())) forms.set(f.toLowerCase(), f);
  }
  return [...forms.values()];
}

/** The calls matching the list's filters, newest first, 50 a page. */
export async function listRequests(
  ctx: ConsoleContext,
  f: RequestFilters,
  cursor: string | null,
  opts: { limit?: number; now?: number } = {},
): Promise<RequestPage> {
  const where = new Where();
  where.since(f.range, opts.now ?? Date.now(), { from: f.from });
  where.eq('project', 'String', f.project);
  where.eq('model', 'String', f.model);
  where.eq('provider', 'String', f.provider);
  // `errors`: every call that did not give the client an answer, as the rollup counts errors
  if (f.outcome === ERRORS) where.clauses.push(FAILED);
  else where.eq('outcome', 'String', f.outcome);
  where.eq('status_code', 'UInt16', f.status_code);
  if (f.key_id?.startsWith(BYOK)) {
    // a call without a gateway key, by the fingerprint of the provider key it brought
    where.clauses.push(`key_id = '' AND key_fingerprint = {key_fingerprint:String}`);
    where.params.key_fingerprint = f.key_id.slice(BYOK.length);
  } else if (f.key_id === '') {
    // (none): no gateway key and no provider key either, as the usage page's row counts them
    where.clauses.push(`key_id = '' AND key_fingerprint = ''`);
  } else {
    where.eq('key_id', 'String', f.key_id);
  }
  where.eq('user', 'String', f.user);
  where.eq('session', 'String', f.session);
  where.eq('trace_id', 'String', f.trace_id);
  if (f.policy !== undefined) {
    where.clauses.push(`has(arrayMap(m -> JSONExtractString(m, 'policy'), JSONExtractArrayRaw(policy_matches)), {policy:String})`);
    where.params.policy = f.policy;
  }
  if (f.q !== undefined) {
    where.clauses.push('(multiSearchAnyCaseInsensitiveUTF8(request_body, {q:Array(String)}) OR multiSearchAnyCaseInsensitiveUTF8(response_body, {q:Array(String)}))');
    where.params.q = bodyNeedles(f.q);
  }
  return keysetPage<RequestSummary>(ctx, { table: 'requests', columns: SUMMARY, id: 'request_id', where, cursor, limit: opts.limit ?? 50 });
}

export interface RequestDetail extends RequestSummary {
  key_fingerprint: string;
  /** the gateway key's name (recorded since schema version 5; '' before) */
  key_name: string;
  properties: Record<string, string>;
  surface: string;
  upstream_model: string;
  /** retries and fallbacks: the tries before this one, `provider/model: why` (schema version 6; absent before) */
  attempts?: string[];
  /** the trace and calling span (schema version 7; absent before) */
  trace_id?: string;
  span_id?: string;
  error_type: string;
  policy_matches: string;
  limit_decision: string;
  limit_refused: string;
  budget_soft: string;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_saved_usd: number | null;
  upstream_ms: number | null;
  finish_reason: string;
  request_bytes: number;
  response_bytes: number;
  request_body: string;
  response_body: string;
  client_ip: string;
  user_agent: string;
}

export interface AppEvent {
  event_id: string;
  ts: string;
  /** the project of the key that reported it ('' for a provider key) */
  project: string;
  /** the gateway key that reported it, or `byok:<fingerprint>` of a provider key */
  key_id: string;
  type: string;
  name: string;
  trace_id: string;
  span_id: string;
  parent_id: string;
  session: string;
  request_id: string;
  user: string;
  message: string;
  score: number | null;
  duration_ms: number | null;
  properties: Record<string, string>;
  payload: string;
}

const EVENT_COLUMNS = `event_id, ts, project, key_id, type, name, trace_id, span_id, parent_id, session, request_id, user, message, score, duration_ms, properties, payload`;

/** One call, with its bodies and the events an app reported about it (POST /v1/events). */
/**
 * One call, and the events its app reported about it: by its request id, and when the call was made
 * in a trace, every event of that trace. Only events reported by the call's owner count (its
 * project, or without one the provider key it was made with): anyone may report events naming any
 * request or trace id, and another tenant's must not show up on this call.
 */
export async function getRequest(ctx: ConsoleContext, id: string): Promise<{ request: RequestDetail; events: AppEvent[] } | null> {
  const [request] = await rows<RequestDetail>(ctx, `SELECT * FROM ${ctx.database}.requests WHERE request_id = {id:String} LIMIT 1`, { id });
  if (!request) return null;
  const trace = request.trace_id ?? '';
  const owner = request.project
    ? { clause: 'project = {project:String}', params: { project: request.project } }
    : request.key_fingerprint
      ? { clause: "project = '' AND key_id = {byok:String}", params: { byok: `${BYOK}${request.key_fingerprint}` } }
      : null;
  if (owner === null) return { request, events: [] };
  const events = await rows<AppEvent>(
    ctx,
    `SELECT ${EVENT_COLUMNS} FROM ${ctx.database}.events
     WHERE (request_id = {id:String} ${trace ? 'OR trace_id = {trace:String}' : ''}) AND ${owner.clause}
     ORDER BY ts, event_id LIMIT 1 BY event_id LIMIT 200`,
    { id, ...(trace ? { trace } : {}), ...owner.params },
  );
  return { request, events };
}

export interface EventFilters {
  range: Range | 'all';
  type?: string;
  name?: string;
  session?: string;
  trace_id?: string;
}

export interface EventPage {
  rows: AppEvent[];
  /** the (ts, event_id) to continue after; null on the last page */
  next: string | null;
}

const EVENT_FILTERS = ['type', 'name', 'session', 'trace_id'] as const;

export function parseEventFilters(search: URLSearchParams): EventFilters {
  const range = search.get('range');
  const f: EventFilters = { range: range === 'all' ? 'all' : parseRange(range) };
  for (const name of EVENT_FILTERS) {
    const v = filterValue(search.get(name));
    if (v) f[name] = v;
  }
  return f;
}

/** What apps reported through POST /v1/events, newest first, 50 a page. */
export async function listEvents(
  ctx: ConsoleContext,
  f: EventFilters,
  cursor: string | null,
  opts: { limit?: number; now?: number } = {},
): Promise<EventPage> {
  const now = opts.now ?? Date.now();
  const where = new Where();
  // an event's time is the app's: a clock running ahead by more than a few minutes is kept out of ranges
  where.since(f.range, now, { until: now + 5 * MINUTE });
  for (const name of EVENT_FILTERS) where.eq(name, 'String', f[name]);
  return keysetPage<AppEvent>(ctx, { table: 'events', columns: EVENT_COLUMNS, id: 'event_id', where, cursor, limit: opts.limit ?? 50 });
}

/**
 * How the console names a call's key: its gateway key id, else `byok:<fingerprint>` of the provider
 * key it brought (as the gateway names such callers in limits and reported events).
 */
export const BYOK = 'byok:';

/** What usage can be grouped by; the column is spliced into SQL from this list only. */
export const USAGE_GROUPS = ['project', 'key_id', 'user', 'model', 'provider'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export function parseUsageGroup(v: string | null): UsageGroup {
  return (USAGE_GROUPS as readonly string[]).includes(v ?? '') ? (v as UsageGroup) : 'project';
}

export interface UsageRow {
  /** the group's value ('' for calls without one) */
  name: string;
  /** per key: the gateway key's name, when it has one */
  label?: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  unpriced: number;
  p50_ms: number;
  p95_ms: number;
}

export interface Usage {
  group: UsageGroup;
  range: Range;
  from: number;
  to: number;
  rows: UsageRow[];
}

/**
 * Calls, errors, tokens, cost and latency per project, key, user, model or provider over a range,
 * the biggest spenders first (up to 1000 groups). From the minute rollup, except per user and per
 * key: the rollup keeps neither users nor the provider keys of calls without a gateway key, so
 * those read the calls themselves.
 */
export async function usage(ctx: ConsoleContext, group: UsageGroup, range: Range, now = Date.now()): Promise<Usage> {
  const { from, to } = rangeWindow(range, now);
  const params = { from: chTime(from), to: chTime(to) };
  const db = ctx.database;
  const name =
    group === 'user' ? 'r.user' : `if(r.key_id != '', r.key_id, if(r.key_fingerprint != '', concat('${BYOK}', r.key_fingerprint), ''))`;
  const query =
    group === 'user' || group === 'key_id'
      ? // columns qualified (r.): the output names reuse theirs, and ClickHouse would read an alias
        `SELECT ${name} AS name, ${group === 'key_id' ? "anyIf(r.key_name, r.key_name != '') AS label," : ''} count() AS requests,
           sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens, ${callTotals('r.')},
           quantiles(0.5, 0.95)(r.latency_ms) AS latency
         FROM ${db}.requests AS r WHERE r.ts >= {from:DateTime64(3, 'UTC')} AND r.ts < {to:DateTime64(3, 'UTC')}
         GROUP BY name ORDER BY cost_usd DESC, requests DESC, name LIMIT 1000`
      : `SELECT ${group} AS name, ${SUMS}, quantilesMerge(0.5, 0.95, 0.99)(latency_ms) AS latency
         FROM ${db}.requests_1m WHERE minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}
         GROUP BY name ORDER BY cost_usd DESC, requests DESC, name LIMIT 1000`;
  const list = await rows<Omit<UsageRow, 'p50_ms' | 'p95_ms'> & Quantiles>(ctx, query, params);
  return {
    group,
    range,
    from,
    to,
    rows: list.map(({ latency, ...r }) => ({ ...r, p50_ms: finite(latency[0]), p95_ms: finite(latency[1]) })),
  };
}

/** One rule of one policy as it matched calls in a range (requests.policy_matches: never the text). */
export interface PolicyActivity {
  policy: string;
  rule: string;
  action: string;
  /** enforce or shadow */
  mode: string;
  /** email, api_key, a pattern's name, keyword; '' for non-content rules */
  detector: string;
  /** calls it matched */
  calls: number;
  /** matches in all (a call can hold several emails) */
  hits: number;
  /** calls it acted on (not shadow, not after an earlier deny) */
  applied: number;
}

export interface PolicyView {
  range: Range;
  from: number;
  rules: PolicyActivity[];
  /** calls per policy outcome: allowed, redacted, flagged, denied */
  outcomes: { outcome: string; calls: number }[];
}

/** What the policies did over a range: each rule's matches, and the calls per policy outcome. */
export async function policyActivity(ctx: ConsoleContext, range: Range, now = Date.now()): Promise<PolicyView> {
  const { from, to } = rangeWindow(range, now);
  const params = { from: chTime(from), to: chTime(to) };
  const inRange = `ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}`;
  const [rules, outcomes] = await Promise.all([
    rows<PolicyActivity>(
      ctx,
      `SELECT JSONExtractString(m, 'policy') AS policy, JSONExtractString(m, 'rule') AS rule,
         JSONExtractString(m, 'action') AS action, JSONExtractString(m, 'mode') AS mode,
         JSONExtractString(m, 'detector') AS detector, uniqExact(request_id) AS calls,
         sum(JSONExtractUInt(m, 'count')) AS hits, uniqExactIf(request_id, JSONExtractBool(m, 'applied')) AS applied
       FROM ${ctx.database}.requests ARRAY JOIN JSONExtractArrayRaw(policy_matches) AS m
       WHERE ${inRange} AND policy_matches NOT IN ('', '[]')
       GROUP BY policy, rule, action, mode, detector ORDER BY calls DESC, policy, rule, detector LIMIT 500`,
      params,
    ),
    rows<{ outcome: string; calls: number }>(
      ctx,
      `SELECT policy_outcome AS outcome, count() AS calls FROM ${ctx.database}.requests
       WHERE ${inRange} AND policy_outcome != '' GROUP BY outcome ORDER BY calls DESC`,
      params,
    ),
  ]);
  return { range, from, rules, outcomes };
}

export interface SessionSummary {
  session: string;
  /** a session is a project's: two projects' `s-1` are two sessions ('' for calls without a project) */
  project: string;
  /**
   * Without a project, whose provider key made it (`byok:<fingerprint>`): two teams bringing their
   * own keys are two tenants, and their `s-1` two sessions. '' for a project's session.
   */
  owner: string;
  calls: number;
  errors: number;
  tokens: number;
  cost_usd: number;
  unpriced: number;
  first_ts: string;
  last_ts: string;
  users: string[];
  models: string[];
}

/** Sessions (x-watchllm-session) with calls in the range, most recently active first. */
/** A call's tenant when it has no project: the provider key it brought (as `byok:<fingerprint>`). */
const OWNER = `if(project = '' AND key_fingerprint != '', concat('${BYOK}', key_fingerprint), '')`;

export async function listSessions(ctx: ConsoleContext, range: Range, opts: { user?: string; now?: number } = {}): Promise<SessionSummary[]> {
  const params: Record<string, unknown> = { from: chTime((opts.now ?? Date.now()) - RANGES[range] * MINUTE) };
  let where = `session != '' AND ts >= {from:DateTime64(3, 'UTC')}`;
  if (opts.user) {
    where += ' AND user = {user:String}';
    params.user = opts.user;
  }
  return rows<SessionSummary>(
    ctx,
    `SELECT session, project, ${OWNER} AS owner, count() AS calls, sum(prompt_tokens + completion_tokens) AS tokens, ${callTotals()},
       toString(min(ts)) AS first_ts, toString(max(ts)) AS last_ts,
       arraySort(groupUniqArray(5)(user)) AS users, arraySort(groupUniqArray(5)(model)) AS models
     FROM ${ctx.database}.requests WHERE ${where}
     GROUP BY project, owner, session ORDER BY max(ts) DESC, session, project, owner LIMIT 200`,
    params,
  );
}

export type TimelineItem = ({ kind: 'request' } & RequestSummary) | ({ kind: 'event' } & AppEvent);

/** How many items of each kind a session page shows at most. */
export const TIMELINE_LIMIT = 500;

export interface SessionView {
  items: TimelineItem[];
  /** the whole session's, however many of its calls are shown */
  totals: { calls: number; errors: number; tokens: number; cost_usd: number; unpriced: number; events: number };
}

/**
 * A session's calls and reported events in time order (the first TIMELINE_LIMIT of each), and its
 * totals: a project's (every project's without one); for project '', the session of the calls made
 * with the provider key `owner` names (`byok:<fingerprint>`) and the events reported with it, or,
 * without an owner, of the calls that brought no key.
 */
export async function sessionTimeline(ctx: ConsoleContext, session: string, project?: string, owner?: string): Promise<SessionView> {
  const db = ctx.database;
  // Without a project, a session is one provider key's (`owner`), or, without one, the calls that
  // brought no key at all (refused before any was known): never every BYOK tenant's at once.
  const byok = owner?.startsWith(BYOK) ? owner : '';
  const tenant = project !== '' ? '' : " AND key_id = '' AND key_fingerprint = {fingerprint:String}";
  const scopes = {
    requests: project === undefined ? '' : ` AND project = {project:String}${tenant}`,
    events: project === undefined ? '' : ` AND project = {project:String}${project === '' ? ' AND key_id = {owner:String}' : ''}`,
  };
  const p = project === undefined ? {} : { project, ...(project === '' ? { owner: byok, fingerprint: byok.slice(BYOK.length) } : {}) };
  const [calls, events, totals, eventCount] = await Promise.all([
    rows<RequestSummary>(
      ctx,
      `SELECT ${SUMMARY} FROM ${db}.requests WHERE session = {session:String}${scopes.requests}
       ORDER BY ts, request_id LIMIT 1 BY request_id LIMIT {limit:UInt32}`,
      { session, limit: TIMELINE_LIMIT, ...p },
    ),
    rows<AppEvent>(
      ctx,
      `SELECT ${EVENT_COLUMNS} FROM ${db}.events WHERE session = {session:String}${scopes.events}
       ORDER BY ts, event_id LIMIT 1 BY event_id LIMIT {limit:UInt32}`,
      { session, limit: TIMELINE_LIMIT, ...p },
    ),
    rows<Omit<SessionView['totals'], 'events'>>(
      ctx,
      `SELECT count() AS calls, sum(prompt_tokens + completion_tokens) AS tokens, ${callTotals()}
       FROM ${db}.requests WHERE session = {session:String}${scopes.requests}`,
      { session, ...p },
    ),
    rows<{ events: number }>(ctx, `SELECT uniqExact(event_id) AS events FROM ${db}.events WHERE session = {session:String}${scopes.events}`, { session, ...p }),
  ]);
  const items: TimelineItem[] = [
    ...calls.map((r) => ({ kind: 'request' as const, ...r })),
    ...events.map((e) => ({ kind: 'event' as const, ...e })),
  ];
  items.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  const t = totals[0] ?? { calls: 0, errors: 0, tokens: 0, cost_usd: 0, unpriced: 0 };
  return { items, totals: { ...t, events: eventCount[0]?.events ?? 0 } };
}
