import type { Endpoint, Surface, Usage } from '@watchllm/providers';

/**
 * What happened to a call, in one word. Every exchange ends with exactly one outcome and is
 * emitted as exactly one event.
 */
export type Outcome =
  | 'success'
  /** the request itself was bad: malformed JSON, missing model, unknown provider, too large */
  | 'invalid'
  /** the gateway could not authenticate the caller (unknown/revoked gateway key, no credentials) */
  | 'unauthorized'
  /** the provider answered with a 4xx/5xx */
  | 'upstream_error'
  /** the provider did not answer in time */
  | 'timeout'
  /** the provider could not be reached or cut the connection */
  | 'upstream_unreachable'
  /** the client went away before the answer was complete */
  | 'client_closed'
  /** refused by a policy */
  | 'denied_policy'
  /** refused by a rate limit or budget */
  | 'denied_limit'
  /** served from the gateway cache */
  | 'cache_hit'
  /** a bug or an unexpected failure inside the gateway */
  | 'internal_error';

export type UsageSource = 'provider' | 'estimate' | 'none';

/** A limit or budget, as the limits stage names it: e.g. scope `key`, id `key_1`, kind `requests`, window `minute`. */
export interface LimitRef {
  scope: string;
  id: string;
  kind: string;
  window: string;
}

/** One `server-timing` segment (RFC: https://www.w3.org/TR/server-timing/). */
export interface TimingSegment {
  name: string;
  dur: number;
}

/**
 * The exchange: created when a request arrives, filled in by each pipeline stage, emitted as one
 * event at the end. Later stages (cache, limits, policies) own their optional sections.
 */
export interface Exchange {
  /** Returned to the client in `x-watchllm-request-id` and stored as `request_id`. */
  readonly id: string;
  /** Wall-clock start (ms since epoch). */
  readonly ts: number;
  /** Monotonic start (performance.now()). */
  readonly t0: number;
  surface: Surface;
  endpoint: Endpoint;
  method: string;
  path: string;

  client: {
    ip: string | null;
    userAgent: string | null;
  };

  /** Caller-supplied metadata from `x-watchllm-*` headers. */
  meta: {
    user: string | null;
    session: string | null;
    /** `x-watchllm-trace-id`, else the trace of a W3C `traceparent` */
    traceId: string | null;
    /** the calling span: `traceparent`'s parent-id */
    spanId: string | null;
    properties: Record<string, string>;
  };

  /** Who is calling. Provider keys are never kept, only their fingerprint. */
  auth: {
    mode: 'byok' | 'gateway_key' | 'none';
    /** Short hash prefix of the provider key used (BYOK or gateway-held): what events and the console show. */
    providerKeyFingerprint: string | null;
    /**
     * The whole SHA-256 of that key (hex), never shown: what separates BYOK tenants where a collision
     * would hand one another's data (cache entries, stored responses). 48 bits of prefix can be
     * collided on purpose with a few GPU-hours; 256 cannot.
     */
    providerKeyHash: string | null;
    /** Gateway key id (not the key) when a `wl_` key was presented. */
    keyId: string | null;
    /** That key's name (`ci`), as created or declared. */
    keyName: string | null;
    project: string | null;
  };

  request: {
    /** Size of the request body in bytes. */
    bytes: number;
    /** The raw body as received (for storage; may be dropped by later stages). */
    raw: string | null;
    /** Parsed JSON body, once valid. */
    body: Record<string, unknown> | null;
    /** The model as the client asked for it (with any provider prefix). */
    model: string | null;
    stream: boolean;
    /** Whether the client itself asked for usage in a stream. */
    clientWantsUsage: boolean;
    /**
     * A multipart/form-data request (audio transcriptions, translations): its bytes and content-type,
     * forwarded as they came. `body` then holds the form's text fields, `raw` them as JSON with a
     * placeholder for each file (what is stored: never the audio).
     */
    form: { bytes: Buffer; contentType: string } | null;
  };

  route: {
    provider: string;
    /** The model name sent upstream. */
    model: string;
  } | null;

  upstream: {
    /** HTTP status from the provider, when it answered. */
    status: number | null;
    /** performance.now() when the request was sent / the headers came back / the body ended. */
    sentAt: number | null;
    headersAt: number | null;
    endedAt: number | null;
    /** ms spent on the providers of earlier tries (retries, fallbacks) and waiting between them: upstream time */
    earlierMs?: number;
  };

  response: {
    /** Status sent to the client. */
    status: number;
    /** performance.now() when the first body byte left the gateway. */
    firstByteAt: number | null;
    /**
     * Streams: performance.now() when the first token (a piece of text of any kind: answer,
     * reasoning, refusal, tool call) passed; null when none did (a stream that failed first).
     */
    firstTokenAt: number | null;
    endedAt: number | null;
    bytes: number;
    /** Response body text for storage (size-capped by the event stage). */
    body: string | null;
    finishReason: string | null;
    usage: Usage | null;
    usageSource: UsageSource;
    /**
     * POST /v1/responses: the id of the response the provider made for this call, read from its
     * answer (the JSON body, or the stream's response.created / completion event); the gateway
     * records its owner (pipeline/response-owner.ts). Null for any other call.
     */
    responseId: string | null;
  };

  outcome: Outcome;
  error: { type: string; message: string } | null;
  /**
   * Fallbacks: the models tried before (or skipped instead of) the one this exchange ends with, in
   * order. Empty for most calls.
   */
  attempts: Attempt[];

  /** Filled by the cost stage: null when the model has no known price (unpriced, never $0). */
  costUsd: number | null;
  /**
   * The provider billed the call in units its answer does not report (a dall-e image, Whisper's
   * seconds, gpt-4o-mini-tts audio) and the gateway has no price for them: the event records its
   * cost as unknown (NULL), never as $0, though it counts no tokens.
   */
  unmetered: boolean;

  /** Server-timing segments added by stages, in order. */
  timings: TimingSegment[];
  /** Response headers added by stages (rate-limit state, cache status), sent with every response. */
  responseHeaders: Record<string, string>;

  /** Sections owned by later issues' stages. */
  cache: { status: 'hit' | 'miss' | 'bypass'; key?: string; savedUsd?: number | null } | null;
  limits: {
    decision: 'allowed' | 'denied' | 'degraded';
    /** The refusing limit. */
    refused?: LimitRef;
    /** Budgets at or over the soft threshold after this call's reservation, with the share spent. */
    softThreshold?: Array<LimitRef & { ratio: number }>;
  } | null;
  policies: {
    outcome: 'allowed' | 'denied' | 'redacted' | 'flagged';
    /** Every rule that hit, before and after the call: policy, rule, action, mode, count (never the text). */
    matches: unknown[];
    /** What may be stored of the bodies: kept, redacted or dropped. */
    stored: 'keep' | 'redact' | 'drop';
  } | null;
}

/** A try of a model that did not answer: a model of a fallback chain, or a try that was retried. */
export interface Attempt {
  /** `provider/model` when it was routed, else the name as the chain gives it */
  model: string;
  /**
   * `failed`: the provider was called and failed; `retried`: failed, and the model was tried again
   * after `waitMs`; `skipped`: it could not be tried
   */
  result: 'failed' | 'retried' | 'skipped';
  /** the provider when it was routed (for metrics) */
  provider: string | null;
  /** `HTTP 503 server_error`, `upstream_unreachable`, or why it was skipped */
  why: string;
  /** a failed one's kind for metrics: the provider's status, `timeout` or `upstream_unreachable` */
  kind?: string;
  /** the failure the client got (when no model answered): the exchange itself describes it */
  own?: boolean;
  /** a retried one's wait before the next try, ms */
  waitMs?: number;
  /** failed, and a retry was due, but the call ended during the wait (client gone, shutdown) */
  abandoned?: boolean;
}

/**
 * How an attempt reads in the event: `openai/gpt-4o: HTTP 503 server_error`,
 * `openai/gpt-4o: HTTP 429 rate_limit_exceeded (retried after 1000 ms)`, `x: skipped: ...`.
 */
export function attemptText(a: Attempt): string {
  if (a.result === 'skipped') return `${a.model}: skipped: ${a.why}`;
  if (a.abandoned) return `${a.model}: ${a.why} (retry abandoned: the call ended during the wait)`;
  return a.result === 'retried' ? `${a.model}: ${a.why} (retried after ${a.waitMs ?? 0} ms)` : `${a.model}: ${a.why}`;
}

export function createExchange(init: {
  id: string;
  surface: Surface;
  endpoint: Endpoint;
  method: string;
  path: string;
  ip: string | null;
  userAgent: string | null;
  now: number;
  t0: number;
}): Exchange {
  return {
    id: init.id,
    ts: init.now,
    t0: init.t0,
    surface: init.surface,
    endpoint: init.endpoint,
    method: init.method,
    path: init.path,
    client: { ip: init.ip, userAgent: init.userAgent },
    meta: { user: null, session: null, traceId: null, spanId: null, properties: {} },
    auth: { mode: 'none', providerKeyFingerprint: null, providerKeyHash: null, keyId: null, keyName: null, project: null },
    request: { bytes: 0, raw: null, body: null, model: null, stream: false, clientWantsUsage: false, form: null },
    route: null,
    upstream: { status: null, sentAt: null, headersAt: null, endedAt: null },
    response: {
      status: 0,
      firstByteAt: null,
      firstTokenAt: null,
      endedAt: null,
      bytes: 0,
      body: null,
      finishReason: null,
      usage: null,
      usageSource: 'none',
      responseId: null,
    },
    outcome: 'success',
    error: null,
    attempts: [],
    costUsd: null,
    unmetered: false,
    timings: [],
    responseHeaders: {},
    cache: null,
    limits: null,
    policies: null,
  };
}

/** Derived durations in milliseconds, for events and metrics. */
export function durations(x: Exchange): {
  latencyMs: number;
  ttftMs: number | null;
  upstreamMs: number | null;
} {
  const end = x.response.endedAt ?? x.upstream.endedAt ?? x.t0;
  // A stream's first byte is no token (Responses and Anthropic streams open with events that carry
  // none); a stream served from the cache is written whole, its first token with its first byte.
  const first = x.request.stream && x.outcome !== 'cache_hit' ? x.response.firstTokenAt : x.response.firstByteAt;
  return {
    latencyMs: Math.max(0, end - x.t0),
    ttftMs: first === null ? null : Math.max(0, first - x.t0),
    upstreamMs: upstreamMs(x.upstream),
  };
}

/** This attempt's time with its provider: from sending to its last timestamp (`now` while it runs); 0 before it is sent. */
export function attemptUpstreamMs(u: Exchange['upstream'], now?: number): number {
  return u.sentAt === null ? 0 : Math.max(0, (u.endedAt ?? u.headersAt ?? now ?? u.sentAt) - u.sentAt);
}

/** The call's time with providers: earlier attempts' (fallbacks) and this one's; null when none was called. */
export function upstreamMs(u: Exchange['upstream'], now?: number): number | null {
  const earlier = u.earlierMs ?? 0;
  return u.sentAt === null && earlier === 0 ? null : earlier + attemptUpstreamMs(u, now);
}

/**
 * Where exchanges go when they end. The events issue implements a ClickHouse writer;
 * `record` must never block or throw on the request path.
 */
export interface EventSink {
  record(x: Exchange): void;
  /** Flush what is queued (graceful shutdown). */
  close(): Promise<void>;
}

export const nullSink: EventSink = {
  record() {},
  async close() {},
};
