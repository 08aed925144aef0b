import { createHash } from 'node:crypto';

/**
 * Body fields that do not change the answer, so two requests differing only in them share an
 * entry: transport (`stream`, `stream_options`), attribution (`user`, `safety_identifier`),
 * OpenAI storage and routing hints (`store`, `metadata`, `prompt_cache_key`, `service_tier`),
 * and anything the gateway itself reads (`watchllm*`).
 */
const IGNORED_FIELDS = new Set([
  'stream',
  'stream_options',
  'user',
  'safety_identifier',
  'store',
  'metadata',
  'prompt_cache_key',
  'service_tier',
]);

export interface CacheKeyInput {
  /** Tenant boundary: project name or provider-key fingerprint. One tenant never reads another's entries. */
  scope: string;
  provider: string;
  model: string;
  endpoint: string;
  body: Record<string, unknown>;
  /** The post-response policies that treat this call's answer (answerPolicyTag); '' for none. */
  policies?: string;
  /**
   * The client headers forwarded to the provider (`anthropic-beta`, `anthropic-version`,
   * `openai-organization`, ...): a beta header can change the answer's shape.
   */
  headers?: Readonly<Record<string, string>>;
}

/** sha256 (hex) of a canonical JSON of everything that determines the answer. */
export function cacheKey({ scope, provider, model, endpoint, body, policies, headers }: CacheKeyInput): string {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!IGNORED_FIELDS.has(k) && !k.startsWith('watchllm')) kept[k] = v;
  }
  // Without answer policies or forwarded headers the key is what it always was: entries survive an upgrade.
  const forwarded = headers && Object.keys(headers).length > 0 ? { headers } : {};
  const canonical = canonicalJson({ v: 1, scope, provider, model, endpoint, body: kept, ...(policies ? { policies } : {}), ...forwarded });
  return createHash('sha256').update(canonical).digest('hex');
}

/** JSON with object keys sorted at every depth, `undefined` members dropped (as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const parts: string[] = [];
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export interface CacheableOptions {
  /** Cache sampled (non-deterministic) requests too: `cache.nondeterministic: true` in config. */
  allowNonDeterministic?: boolean;
}

/**
 * Responses API calls whose answer is not in the answer, or whose prompt is not in the body, are
 * never cached, whatever the config says: `background: true` answers with a queued response that the
 * client polls for later (a replay would hand out a stale "queued"), and `conversation` names
 * server-side state that grows with every turn (the same body means another prompt tomorrow).
 * `previous_response_id` names a response that never changes, so it keys the cache like any field.
 */
function isSelfContained(body: Record<string, unknown>): boolean {
  return body['background'] !== true && (body['conversation'] === undefined || body['conversation'] === null);
}

/**
 * Whether an answer to `body` may be stored and replayed. A request is non-deterministic — and
 * not cached unless configured — when it explicitly asks for variety: `n` > 1 (several different
 * samples) or an explicit `temperature` > 0, unless it pins a `seed` (OpenAI: "the system will
 * make a best effort to sample deterministically",
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-seed).
 * An omitted temperature counts as deterministic enough: caching is opt-in, and a client that
 * enabled it without asking for randomness wants the repeat answered from cache.
 */
export function isCacheable(body: Record<string, unknown>, opts: CacheableOptions = {}): boolean {
  if (!isSelfContained(body)) return false;
  if (opts.allowNonDeterministic) return true;
  if (typeof body.seed === 'number') return true;
  if (typeof body.n === 'number' && body.n > 1) return false;
  if (typeof body.temperature === 'number' && body.temperature > 0) return false;
  return true;
}
