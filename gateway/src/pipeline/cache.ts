import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { costUsd, MEDIA_ENDPOINTS, type Price } from '@watchllm/providers';
import type { Config } from '../config/schema.ts';
import { chatCompletionSse, chunksToChatCompletion, ReplayError } from '../cache/replay.ts';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { one, passHeaders, wholeNumberHeader } from '../http/headers.ts';
import { nestsDeeper, parseJson } from '../json.ts';
import { answerText } from '../answer-text.ts';
import { clientStreamFormat, StreamTap } from '../stream/tap.ts';
import { sendBody } from '../http/respond.ts';
import { COST_HEADER } from './respond-json.ts';
import { cacheKey, isCacheable, type CachedResponse, type CacheStore, type KeyRecord } from '../stores/index.ts';

/** Largest answer kept in the cache. */
const MAX_CACHED_BYTES = 4 << 20;

/** Longest TTL `x-watchllm-cache-ttl` may ask for: 30 days. */
export const MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Deeper than any real request (JSON schemas of tools nest a few dozen levels), and far from the depth
 * at which hashing the key would overflow the stack: a body nested deeper is simply not cached.
 */
const MAX_KEY_DEPTH = 256;

export interface CachePlan {
  key: string;
  ttlSeconds: number;
  /** refresh: skip the lookup, store the fresh answer. */
  lookup: boolean;
}

/**
 * Whether this call uses the cache. Off unless enabled in config, on the key, or by
 * `x-watchllm-cache: on`; `off` skips it, `refresh` overwrites. Entries are scoped to the project
 * (or the provider key's fingerprint for BYOK calls), so one tenant never reads another's answers.
 */
/**
 * `answerPolicies`: the post-response policies that treat this call's answer (answerPolicyTag), so
 * an answer redacted for one user is never served to another under other rules, or the reverse.
 */
export function planCache(
  x: Exchange,
  h: IncomingHttpHeaders,
  config: Config,
  key: KeyRecord | null,
  answerPolicies: () => string = () => '',
): CachePlan | null {
  const header = one(h['x-watchllm-cache'])?.toLowerCase() ?? null;
  if (header !== null && header !== 'on' && header !== 'off' && header !== 'refresh') {
    // Like a bad TTL: ignoring it would leave the client believing it asked for something it did not get.
    throw GatewayError.invalid('x-watchllm-cache must be on, off or refresh.', 'x-watchllm-cache');
  }
  const ttlHeader = requestedTtl(h);
  const enabled = header === 'on' || header === 'refresh' || (header !== 'off' && (key?.cache?.enabled ?? config.cache.enabled));
  // Media answers are never cached: images and speech are not deterministic (the same prompt is a
  // new picture), a moderation is free and quick, and a transcription's form is not a JSON body.
  if (!enabled || x.request.body === null || x.route === null || x.endpoint === 'models' || MEDIA_ENDPOINTS.has(x.endpoint)) {
    if (header !== null || config.cache.enabled || key?.cache?.enabled) x.cache = { status: 'bypass' };
    return null;
  }
  if (
    !isCacheable(x.request.body, { allowNonDeterministic: config.cache.allow_nondeterministic }) ||
    nestsDeeper(x.request.body, MAX_KEY_DEPTH)
  ) {
    x.cache = { status: 'bypass' };
    return null;
  }
  const scope = tenantScope(x);
  if (scope === null) {
    x.cache = { status: 'bypass' };
    return null;
  }
  const ttlSeconds = ttlHeader ?? key?.cache?.ttlSeconds ?? config.cache.ttl_seconds;
  const k = cacheKey({
    scope,
    provider: x.route.provider,
    model: x.route.model,
    endpoint: `${x.surface}:${x.endpoint}${crossesModes(x) ? '' : x.request.stream ? ':stream' : ':json'}`,
    body: x.request.body,
    policies: answerPolicies(),
    headers: passHeaders(h),
  });
  x.cache = { status: 'miss', key: k };
  return { key: k, ttlSeconds, lookup: header !== 'refresh' };
}

/**
 * Whose the call is, for what the gateway keeps per tenant (cache entries, the owners of stored
 * responses: response-owner.ts): the project of a gateway key, else the whole hash of the provider
 * key (BYOK: that key's account); null for an anonymous call to a keyless host.
 */
export function tenantScope(x: Exchange): string | null {
  return x.auth.project ? `project:${x.auth.project}` : x.auth.providerKeyHash ? `key:${x.auth.providerKeyHash}` : null;
}

/**
 * Whether one entry serves both a streamed and a non-streamed call: chat completions can be replayed
 * either way (serveCached). Elsewhere (Anthropic messages, Responses, legacy completions) a stream and
 * a JSON answer each have an entry of their own: sharing one, mixed traffic would overwrite it on
 * every miss and never hit.
 */
function crossesModes(x: Exchange): boolean {
  return x.surface === 'openai' && x.endpoint === 'chat';
}

/**
 * `x-watchllm-cache-ttl`: whole seconds, 1 to 30 days; null when absent. Anything else is a 400 naming
 * the header, as an unknown `x-watchllm-provider` is: ignoring it would cache for the default TTL (or
 * not at all) while the client believes otherwise.
 */
function requestedTtl(h: IncomingHttpHeaders): number | null {
  return wholeNumberHeader(h, 'x-watchllm-cache-ttl', MAX_CACHE_TTL_SECONDS, `seconds from 1 to ${MAX_CACHE_TTL_SECONDS} (30 days)`);
}

/**
 * Serves a stored answer in the shape the client asked for; false when it cannot (then it is a miss).
 * `onAnswer` gets the answer's text before it is sent, for the answer policies to record what they
 * find in it (flags, shadow rules: the cache key only covers the policies that change answers).
 */
export function serveCached(
  x: Exchange,
  res: ServerResponse,
  hit: CachedResponse,
  price: Price | null,
  onAnswer: ((text: string) => void) | null = null,
): boolean {
  const chat = crossesModes(x);
  let body: string | null = null;
  let sse: string | null = null;
  try {
    if (x.request.stream) {
      if (hit.events) sse = replayEvents(x, hit.events);
      else if (chat && hit.body) {
        sse = chatCompletionSse(JSON.parse(hit.body), { includeUsage: x.request.clientWantsUsage });
      }
    } else if (hit.body) {
      body = hit.body;
    } else if (chat && hit.events) {
      body = JSON.stringify(chunksToChatCompletion(hit.events.map((e) => JSON.parse(e) as unknown)));
    }
  } catch (e) {
    // An answer the other mode cannot reproduce exactly is a miss, never a wrong answer.
    if (e instanceof ReplayError || e instanceof SyntaxError) return false;
    throw e;
  }
  if (body === null && sse === null) return false;

  const text = cachedAnswerText(x, hit);
  onAnswer?.(text);
  x.outcome = 'cache_hit';
  x.response.usage = hit.usage;
  x.response.usageSource = hit.usage ? 'provider' : 'none';
  x.response.finishReason = hit.finishReason ?? null;
  // A hit costs nothing; what the provider call would have cost is recorded as saved.
  x.cache = { status: 'hit', ...(x.cache?.key ? { key: x.cache.key } : {}), savedUsd: price && hit.usage ? costUsd(price, hit.usage) : null };
  x.costUsd = 0;
  x.responseHeaders['x-watchllm-cache'] = 'hit';
  x.responseHeaders[COST_HEADER] = '0';
  if (body !== null) {
    x.response.body = body;
    sendBody(res, x, hit.status, body, { ...hit.headers, 'content-type': 'application/json' });
  } else {
    // a stream's stored body is its answer text, as for a streamed call that reached the provider
    x.response.body = text;
    sendBody(res, x, 200, sse!, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  }
  return true;
}

/** Replays stored SSE payloads as a stream, hiding the usage chunk from clients that did not ask. */
function replayEvents(x: Exchange, events: readonly string[]): string {
  let out = '';
  for (const data of events) {
    const parsed = JSON.parse(data) as { type?: unknown; choices?: unknown; usage?: unknown };
    if (x.surface === 'openai' && x.endpoint !== 'responses') {
      const usageOnly = Array.isArray(parsed.choices) && parsed.choices.length === 0 && parsed.usage != null;
      if (usageOnly && !x.request.clientWantsUsage) continue;
      out += `data: ${data}\n\n`;
    } else {
      // Anthropic and Responses events are named after their `type`.
      out += `event: ${String(parsed.type)}\ndata: ${data}\n\n`;
    }
  }
  return x.surface === 'openai' && x.endpoint !== 'responses' ? out + 'data: [DONE]\n\n' : out;
}

/** The text of a stored answer, as the tap reads it from a stream or answer-text.ts from a body. */
function cachedAnswerText(x: Exchange, hit: CachedResponse): string {
  if (hit.body !== undefined) return answerText(parseJson(hit.body));
  const tap = new StreamTap(clientStreamFormat(x.surface, x.endpoint));
  for (const data of hit.events) tap.observe(undefined, data);
  return tap.answerText();
}

/** Stores a successful answer (never errors, never cut streams). */
export async function fillCache(
  store: CacheStore,
  plan: CachePlan,
  x: Exchange,
  captured: { body: string | null; events: string[] | null },
): Promise<void> {
  if (x.outcome !== 'success' || x.response.status !== 200 || x.route === null) return;
  const size = captured.body?.length ?? captured.events?.reduce((n, e) => n + e.length, 0) ?? 0;
  if (size === 0 || size > MAX_CACHED_BYTES) return;
  const common = { status: 200, headers: {}, usage: x.response.usage, model: x.route.model, finishReason: x.response.finishReason, createdAt: Date.now() };
  const value: CachedResponse = captured.events ? { ...common, events: captured.events } : { ...common, body: captured.body! };
  await store.set(plan.key, value, plan.ttlSeconds);
}
