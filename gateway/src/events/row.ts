import { durations, type Exchange } from '../exchange.ts';

/** One row of `watchllm.requests`, as sent in JSONEachRow. Absent text is '' (ClickHouse idiom). */
export interface RequestRow {
  request_id: string;
  /** 'YYYY-MM-DD HH:MM:SS.mmm' in UTC, the DateTime64(3, 'UTC') text form */
  ts: string;
  project: string;
  key_id: string;
  key_fingerprint: string;
  user: string;
  session: string;
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

/** The DateTime64(3, 'UTC') text form ClickHouse parses in every input format. */
export function toClickHouseTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
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
 * provider counted anything) really cost nothing: 0 and priced.
 */
export function toRow(x: Exchange, opts: RowOptions): RequestRow {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { latencyMs, ttftMs, upstreamMs } = durations(x);
  const usage = x.response.usage;
  const usedTokens = usage !== null && usage.promptTokens + usage.completionTokens > 0;
  const unpriced = x.costUsd === null && usedTokens;
  return {
    request_id: x.id,
    ts: toClickHouseTime(x.ts),
    project: x.auth.project ?? '',
    key_id: x.auth.keyId ?? '',
    key_fingerprint: x.auth.providerKeyFingerprint ?? '',
    user: x.meta.user ?? '',
    session: x.meta.session ?? '',
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
