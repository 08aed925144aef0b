import { attemptText, durations, type Exchange } from '../exchange.ts';

/** One row of `watchllm.requests`, as sent in JSONEachRow. Absent text is '' (ClickHouse idiom). */
export interface RequestRow {
  request_id: string;
  /** 'YYYY-MM-DD HH:MM:SS.mmm' in UTC, the DateTime64(3, 'UTC') text form */
  ts: string;
  project: string;
  key_id: string;
  key_fingerprint: string;
  /** the gateway key's name, '' without one */
  key_name: string;
  /** fallbacks: the models tried before (or instead of) this row's, `provider/model: why` */
  attempts: string[];
  user: string;
  session: string;
  /** `x-watchllm-trace-id`, else a W3C traceparent's trace id; '' without */
  trace_id: string;
  /** the calling span (traceparent's parent-id); '' without */
  span_id: string;
  properties: Record<string, string>;
  surface: string;
  endpoint: string;
  provider: string;
  model: string;
  upstream_model: string;
  stream: boolean;
  status_code: number;
  outcome: string;
  error_type: string;
  error_message: string;
  cache_status: string;
  policy_outcome: string;
  policy_matches: string;
  limit_decision: string;
  /** JSON `{"scope","id","kind","window"}` of the limit or budget that refused the call, or '' */
  limit_refused: string;
  /** JSON `[{"scope","id","kind","window","ratio"}]` of budgets at or over the soft threshold, or '' */
  budget_soft: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  usage_source: string;
  cost_usd: number | null;
  priced: boolean;
  cost_saved_usd: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  upstream_ms: number | null;
  finish_reason: string;
  request_bytes: number;
  response_bytes: number;
  request_body: string;
  response_body: string;
  client_ip: string;
  user_agent: string;
}

/** The columns of a request row in the order `encodeRequestRow` writes them (JSONCompactEachRow). */
export const REQUEST_COLUMNS = [
  'request_id', 'ts', 'project', 'key_id', 'key_fingerprint', 'user', 'session', 'properties', 'surface', 'endpoint',
  'provider', 'model', 'upstream_model', 'stream', 'status_code', 'outcome', 'error_type', 'error_message',
  'cache_status', 'policy_outcome', 'policy_matches', 'limit_decision', 'prompt_tokens', 'completion_tokens',
  'cached_tokens', 'cache_write_tokens', 'reasoning_tokens', 'usage_source', 'cost_usd', 'priced', 'cost_saved_usd',
  'latency_ms', 'ttft_ms', 'upstream_ms', 'finish_reason', 'request_bytes', 'response_bytes', 'request_body',
  'response_body', 'client_ip', 'user_agent',
  // Append only: spooled lines hold values in this order, and a line written before a column
  // was added is inserted with the columns it has (see writer.ts `insert`).
  'limit_refused', 'budget_soft', 'key_name', 'attempts', 'trace_id', 'span_id',
] as const satisfies readonly (keyof RequestRow)[];

// A column added to RequestRow but not to REQUEST_COLUMNS fails to compile here.
type Unlisted = Exclude<keyof RequestRow, (typeof REQUEST_COLUMNS)[number]>;
const everyColumnListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyColumnListed;

type ValuesOf<C extends readonly (keyof RequestRow)[]> = { -readonly [I in keyof C]: RequestRow[C[I] & keyof RequestRow] };
type RequestValues = ValuesOf<typeof REQUEST_COLUMNS>;

/**
 * The row's values in REQUEST_COLUMNS order (row.test.ts checks the order value by value; the type
 * checks each position's type).
 *
 * Written out rather than `REQUEST_COLUMNS.map((c) => row[c])`: that keyed read of 47 names is
 * megamorphic, and its entries crowded V8's shared cache of property lookups, so that other
 * megamorphic reads on the gateway's hot path missed more often; and the array `map` makes is
 * holey, which sends JSON.stringify down its slow path. Measured with perf on the gateway's main
 * thread under load: ~9 µs of CPU per request for those two alone.
 */
function requestValues(r: RequestRow): RequestValues {
  return [
    r.request_id, r.ts, r.project, r.key_id, r.key_fingerprint, r.user, r.session, r.properties, r.surface, r.endpoint,
    r.provider, r.model, r.upstream_model, r.stream, r.status_code, r.outcome, r.error_type, r.error_message,
    r.cache_status, r.policy_outcome, r.policy_matches, r.limit_decision, r.prompt_tokens, r.completion_tokens,
    r.cached_tokens, r.cache_write_tokens, r.reasoning_tokens, r.usage_source, r.cost_usd, r.priced, r.cost_saved_usd,
    r.latency_ms, r.ttft_ms, r.upstream_ms, r.finish_reason, r.request_bytes, r.response_bytes, r.request_body,
    r.response_body, r.client_ip, r.user_agent,
    r.limit_refused, r.budget_soft, r.key_name, r.attempts, r.trace_id, r.span_id,
  ];
}

/**
 * One JSONCompactEachRow line (no newline): the values as an array in REQUEST_COLUMNS order.
 * ClickHouse parses arrays about a third faster than objects (measured on chDB: ~48 vs ~70 µs of
 * CPU per row), and the keys are not repeated on the wire or in the spool.
 */
export function encodeRequestRow(row: RequestRow): string {
  return wellFormedLine(JSON.stringify(requestValues(row)));
}

/**
 * JSON.stringify writes a lone UTF-16 surrogate (a client's `"\ud800"`, or a string cut between the
 * halves of a pair) as that escape, and ClickHouse refuses the escape (code 25), failing the whole
 * batch it is in. Such escapes become U+FFFD, in values and keys alike; an escaped backslash before
 * `u` is text, left alone. One scan for lines without any (nearly all).
 */
export function wellFormedLine(line: string): string {
  return line.includes('\\ud') ? line.replace(LONE_SURROGATE, '$1\\ufffd') : line;
}
// JSON.stringify escapes lone surrogates in lower case and never a well-formed pair
const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

export interface RowOptions {
  /** false drops both bodies (globally or per key). */
  storeBodies: boolean;
  /** Bodies longer than this (UTF-8 bytes) are cut and marked. Default 32 KiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 32 * 1024;
const UINT32_MAX = 4_294_967_295;
/** Error messages are for humans; a provider echoing a whole prompt back should not fill rows. */
const MAX_ERROR_CHARS = 4096;

/** The range of DateTime64(3): https://clickhouse.com/docs/sql-reference/data-types/datetime64 */
export const CLICKHOUSE_TIME_MIN_MS = Date.UTC(1900, 0, 1);
export const CLICKHOUSE_TIME_MAX_MS = Date.UTC(2300, 0, 1) - 1;

/** Whether `ms` is a time DateTime64(3) can store (outside it ClickHouse rejects or wraps the value). */
export function isClickHouseTime(ms: number): boolean {
  return ms >= CLICKHOUSE_TIME_MIN_MS && ms <= CLICKHOUSE_TIME_MAX_MS;
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * The DateTime64(3, 'UTC') text form ClickHouse parses in every input format. The date and time
 * of day are formatted once per second (a third of the cost of encoding a row went to
 * `toISOString` and its replaces).
 *
 * Throws a RangeError for a time DateTime64(3) cannot store (and NaN): a clamped time would be a
 * wrong time stored without a word, and a year written `+010000` fails the whole insert. Callers
 * validate times they did not make (see `isClickHouseTime`).
 */
export function toClickHouseTime(ms: number): string {
  if (!isClickHouseTime(ms)) throw new RangeError(`Time ${ms} is outside ClickHouse DateTime64(3) (years 1900 to 2299)`);
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  if (second !== cachedSecond) {
    // Cache only what was formatted: the cache must never pair a second with another second's text.
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -5).replace('T', ' ');
    cachedSecond = second;
  }
  return `${cachedPrefix}.${String(whole - second * 1000).padStart(3, '0')}`;
}

/** Cut `text` to at most `max` UTF-8 bytes, saying how long it was, so a reader knows it is partial. */
export function capBody(text: string | null, max: number): string {
  if (text === null) return '';
  // Fast path: a UTF-8 byte is at least one UTF-16 unit, and at most three per unit.
  if (text.length * 3 <= max) return text;
  const bytes = Buffer.byteLength(text);
  if (bytes <= max) return text;
  // Cutting may split a multi-byte character; the decoder then ends with U+FFFD, which is fine
  // for a marked, partial body.
  const head = Buffer.from(text).subarray(0, max).toString('utf8');
  return `${head}…[truncated: ${bytes} bytes]`;
}

function clampU32(n: number): number {
  return Math.min(UINT32_MAX, Math.max(0, Math.round(n)));
}

/**
 * Map a finished exchange to its row. Pure.
 *
 * Cost: a model with no known price (`costUsd` null while tokens were used) is stored as NULL with
 * `priced = false`, never as $0. A call that used no tokens (denied, invalid, failed before the
 * provider counted anything) really cost nothing: 0 and priced. A call billed in units its answer
 * does not report (`unmetered`: a dall-e image, Whisper's seconds) is NULL and unpriced too.
 */
export function toRow(x: Exchange, opts: RowOptions): RequestRow {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { latencyMs, ttftMs, upstreamMs } = durations(x);
  const usage = x.response.usage;
  const usedTokens = usage !== null && usage.promptTokens + usage.completionTokens > 0;
  const unpriced = x.costUsd === null && (usedTokens || x.unmetered);
  return {
    request_id: x.id,
    ts: toClickHouseTime(x.ts),
    project: x.auth.project ?? '',
    key_id: x.auth.keyId ?? '',
    key_fingerprint: x.auth.providerKeyFingerprint ?? '',
    key_name: x.auth.keyName ?? '',
    attempts: x.attempts.map((a) => attemptText(a).slice(0, MAX_ERROR_CHARS)),
    user: x.meta.user ?? '',
    session: x.meta.session ?? '',
    trace_id: x.meta.traceId ?? '',
    span_id: x.meta.spanId ?? '',
    properties: x.meta.properties,
    surface: x.surface,
    endpoint: x.endpoint,
    provider: x.route?.provider ?? '',
    model: x.request.model ?? '',
    upstream_model: x.route?.model ?? '',
    stream: x.request.stream,
    status_code: x.response.status,
    outcome: x.outcome,
    error_type: x.error?.type ?? '',
    error_message: (x.error?.message ?? '').slice(0, MAX_ERROR_CHARS),
    cache_status: x.cache?.status ?? '',
    policy_outcome: x.policies?.outcome ?? '',
    policy_matches: x.policies ? JSON.stringify(x.policies.matches) : '',
    limit_decision: x.limits?.decision ?? '',
    limit_refused: x.limits?.refused ? JSON.stringify(x.limits.refused) : '',
    budget_soft: x.limits?.softThreshold?.length ? JSON.stringify(x.limits.softThreshold) : '',
    prompt_tokens: clampU32(usage?.promptTokens ?? 0),
    completion_tokens: clampU32(usage?.completionTokens ?? 0),
    cached_tokens: clampU32(usage?.cachedTokens ?? 0),
    cache_write_tokens: clampU32(usage?.cacheWriteTokens ?? 0),
    reasoning_tokens: clampU32(usage?.reasoningTokens ?? 0),
    usage_source: x.response.usageSource,
    cost_usd: unpriced ? null : (x.costUsd ?? 0),
    priced: !unpriced,
    cost_saved_usd: x.cache?.savedUsd ?? null,
    latency_ms: latencyMs,
    ttft_ms: ttftMs,
    upstream_ms: upstreamMs,
    finish_reason: x.response.finishReason ?? '',
    request_bytes: clampU32(x.request.bytes),
    response_bytes: clampU32(x.response.bytes),
    request_body: opts.storeBodies ? capBody(x.request.raw, max) : '',
    response_body: opts.storeBodies ? capBody(x.response.body, max) : '',
    client_ip: x.client.ip ?? '',
    user_agent: x.client.userAgent ?? '',
  };
}
