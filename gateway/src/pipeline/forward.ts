import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { azureStreamsUsage, MEDIA_ENDPOINTS, TranslationError, type Price, type TranslateContext, type UpstreamRequest } from '@watchllm/providers';
import { errorBody, GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { copyUpstreamHeaders, wholeNumberHeader } from '../http/headers.ts';
import { sendBody } from '../http/respond.ts';
import type { ConfiguredProvider } from '../registry.ts';
import type { CompiledPolicySet } from '@watchllm/policies';
import type { Logger } from '../log.ts';
import { logUnreachable, upstreamBodyError, type Upstream, type UpstreamResponse } from '../upstream.ts';
import { AttemptFailed, contextTooLong, fallsBackOnError, fallsBackOnStatus } from './fallback.ts';
import { storedResponseOf } from './parse.ts';
import { respondJson } from './respond-json.ts';
import { respondMedia } from './respond-media.ts';
import { providerRetryAfterMs } from './retry.ts';
import { respondStream, type StreamBudget } from './respond-stream.ts';

/** Largest upstream error body read; error bodies are small, anything bigger is cut. */
const MAX_ERROR_BODY = 1 << 20;
/** Says the attempt that answered was sent to Claude without the thinking asked for (README, Headers). */
const THINKING_HEADER = 'x-watchllm-thinking';

export interface ForwardInput {
  cp: ConfiguredProvider;
  apiKey: string | undefined;
  passHeaders: Record<string, string>;
  upstream: Upstream;
  signal: AbortSignal;
  /** Collects stream events for the cache (null when the answer is not cached). */
  capture: string[] | null;
  /** Policies in force for this call (read once at its start). */
  policies: CompiledPolicySet | null;
  /** Strict budgets: what a stream may cost at most. */
  budget: StreamBudget | null;
  /** Keep answer bodies on the exchange (they are stored with the event). */
  keepBody: boolean;
  /** Where a provider that cannot be reached is reported (one line per call). */
  log: Logger;
  /**
   * A retry of this model or another model follows if this one fails: a failure a retry or a
   * fallback may cure (fallback.ts) is then thrown as AttemptFailed, with nothing sent to the client.
   */
  fallible: boolean;
  /**
   * This is a fallback model: any failure before the answer starts (its own 4xx too) is thrown as
   * AttemptFailed; the caller decides what the client gets.
   */
  candidate: boolean;
  /** This call's wait for the provider's response headers, when x-watchllm-timeout-ms shortens it. */
  headersTimeoutMs: number | null;
  /** The routed model's price (null: unpriced), for the cost header of a complete answer. */
  price: Price | null;
}

export const TIMEOUT_HEADER = 'x-watchllm-timeout-ms';

/**
 * `x-watchllm-timeout-ms`: how long each attempt of this call waits for the provider's response
 * headers, 1 ms up to the gateway's own `upstream_timeout_ms` (upstream.ts keeps it with a timer of
 * its own); null when absent. A timeout with fallbacks left moves on to the next model. Anything
 * else is a 400 naming the header.
 */
export function requestedTimeout(h: IncomingHttpHeaders, maxMs: number): number | null {
  return wholeNumberHeader(h, TIMEOUT_HEADER, maxMs, `milliseconds from 1 to ${maxMs} (the gateway's upstream_timeout_ms)`);
}

/** Builds the upstream request, sends it and hands the answer to the JSON or stream responder. */
export async function forward(x: Exchange, res: ServerResponse, input: ForwardInput): Promise<void> {
  const { cp } = input;
  const native = cp.provider.wire === x.surface;
  // An Azure api-version older than stream_options refuses it: such streams are estimated.
  // So does a host configured not to be asked (`stream_usage: false`, Mistral's default).
  const stored = storedResponseOf(x);
  const plan = planBody(x, native && cp.streamUsage && (cp.provider.kind !== 'azure' || azureStreamsUsage(cp.target.apiVersion)), stored !== null);
  let req: UpstreamRequest;
  try {
    req = cp.provider.buildRequest(
      {
        endpoint: x.endpoint,
        body: plan.body,
        model: x.route!.model,
        stream: x.request.stream,
        apiKey: input.apiKey,
        passHeaders: input.passHeaders,
        raw: plan.changed ? undefined : (x.request.raw ?? undefined),
        // GET endpoints carry their parameters in the query (Anthropic's models pagination, a stored
        // response's input items pages and `include`); each provider forwards the ones its API takes.
        // Without them an SDK following has_more loops.
        ...(x.endpoint === 'models' || stored ? { query: queryOf(x.path) } : {}),
        ...(stored ? { stored } : {}),
        ...(x.request.form ? { form: x.request.form } : {}),
      },
      cp.target,
    );
  } catch (e) {
    if (e instanceof TranslationError) throw GatewayError.invalid(e.message, e.param, 'unsupported_parameter');
    throw e;
  }
  // this attempt's: a fallback to another model that kept (or never had) thinking does not say it
  if (req.thinkingDropped) x.responseHeaders[THINKING_HEADER] = 'dropped';
  else if (THINKING_HEADER in x.responseHeaders) delete x.responseHeaders[THINKING_HEADER];

  x.upstream.sentAt = performance.now();
  let up: UpstreamResponse;
  try {
    up = await input.upstream.send(req, input.signal, { headersTimeoutMs: input.headersTimeoutMs });
  } catch (e) {
    // Whatever ended the attempt (a timeout, the client leaving, a refused connection), the time
    // until then was spent waiting on the provider: upstream time, not the gateway's overhead.
    x.upstream.endedAt ??= performance.now();
    if (e instanceof GatewayError && e.outcome === 'upstream_unreachable') {
      logUnreachable(input.log, e, { requestId: x.id, provider: cp.provider.id, url: req.url });
    }
    if ((input.fallible || input.candidate) && fallsBackOnError(e)) {
      throw new AttemptFailed(
        e.code ?? e.outcome,
        () => {
          throw e;
        },
        true,
        e.outcome,
        { transient: true, afterMs: null },
      );
    }
    throw e;
  }
  x.upstream.headersAt = performance.now();
  x.upstream.status = up.statusCode;

  try {
    if (up.statusCode >= 400) return await relayError(x, res, up, native, cp, input);
    if (!isAnswerStatus(up.statusCode)) return await noAnswer(x, up, cp);
    return await respond(x, res, up, input, plan, native);
  } catch (e) {
    // a body that failed or stalled: the wait for it was upstream time (a stream sets its own end)
    x.upstream.endedAt ??= performance.now();
    throw upstreamBodyError(e, req.url) ?? e;
  }
}

/** The query string of a request path, without the `?`; undefined when there is none. */
function queryOf(path: string): string | undefined {
  const q = path.indexOf('?');
  return q === -1 || q === path.length - 1 ? undefined : path.slice(q + 1);
}

/**
 * An answer comes with 200 (201 and the other 2xx with a body are taken as such). A redirect (a base
 * URL on http:// that the host moves to https://, a login page) or a 204 is not an answer: passing it
 * on as 200 would hand the client's SDK an HTML page or nothing as a completion.
 */
function isAnswerStatus(status: number): boolean {
  return status >= 200 && status < 300 && status !== 204 && status !== 205;
}

async function noAnswer(x: Exchange, up: UpstreamResponse, cp: ConfiguredProvider): Promise<never> {
  await up.body.dump().catch(() => {});
  x.upstream.endedAt = performance.now();
  const location = up.headers['location'];
  const where = typeof location === 'string' ? ` to ${safeOrigin(location)}` : '';
  throw new GatewayError({
    status: 502,
    type: 'api_error',
    code: 'bad_upstream_response',
    outcome: 'upstream_error',
    message:
      up.statusCode >= 300 && up.statusCode < 400
        ? `The provider '${cp.provider.id}' answered with a redirect (HTTP ${up.statusCode}${where}); check its base_url.`
        : `The provider '${cp.provider.id}' answered HTTP ${up.statusCode} without a body.`,
  });
}

/** Scheme and host of a redirect target (never its path or query, which may carry tokens). */
function safeOrigin(location: string): string {
  try {
    return new URL(location).origin;
  } catch {
    return 'another URL';
  }
}

async function respond(
  x: Exchange,
  res: ServerResponse,
  up: UpstreamResponse,
  input: ForwardInput,
  plan: ReturnType<typeof planBody>,
  native: boolean,
): Promise<void> {
  const { cp } = input;

  const ctx: TranslateContext = {
    model: x.request.model ?? x.route!.model,
    id: `chatcmpl-${x.id.replace(/-/g, '')}`,
    created: Math.floor(x.ts / 1000),
    // Translators always emit usage; the responder hides it from clients that did not ask.
    includeUsage: true,
    ...(plan.body['encoding_format'] === 'base64' ? { encodingFormat: 'base64' as const } : {}),
  };
  const contentType = String(up.headers['content-type'] ?? '');
  const passthrough = copyUpstreamHeaders(up.headers);
  if (MEDIA_ENDPOINTS.has(x.endpoint)) {
    return respondMedia(x, res, up.body, { cp, native, ctx, headers: passthrough, contentType, policies: input.policies, price: input.price, keepBody: input.keepBody });
  }
  if (contentType.startsWith('text/event-stream')) {
    return respondStream(x, res, up.body, { cp, native, ctx, hideUsage: plan.injectedUsage, headers: passthrough, capture: input.capture, policies: input.policies, budget: input.budget, keepBody: input.keepBody });
  }
  return respondJson(x, res, up.body, { cp, native, ctx, headers: passthrough, contentType, policies: input.policies, price: input.price });
}

/**
 * What to send upstream: the client's body with the routed model name, and for OpenAI-style streams
 * `stream_options.include_usage` so the provider reports usage (hidden again from clients that did not ask).
 */
function planBody(x: Exchange, injectable: boolean, stored: boolean): { body: Record<string, unknown>; changed: boolean; injectedUsage: boolean } {
  const body = x.request.body ?? {};
  // (a stored response's calls send no body; a form goes as its bytes, which name the model they name)
  if (x.endpoint === 'models' || stored || x.request.form) return { body, changed: false, injectedUsage: false };
  let out = body;
  let changed = false;
  // (a call naming no model, a moderation, goes without one: the provider's default answers)
  if (x.route!.model !== '' && body['model'] !== x.route!.model) {
    out = { ...out, model: x.route!.model };
    changed = true;
  }
  const wantsUsageInjection =
    injectable && x.surface === 'openai' && x.request.stream && (x.endpoint === 'chat' || x.endpoint === 'completions');
  let injectedUsage = false;
  if (wantsUsageInjection && !x.request.clientWantsUsage) {
    const so = body['stream_options'];
    out = { ...out, stream_options: { ...(so !== null && typeof so === 'object' ? so : {}), include_usage: true } };
    changed = true;
    injectedUsage = true;
  }
  return { body: out, changed, injectedUsage };
}

/**
 * Provider errors: on the provider's own surface a body in the surface's error shape (an `error`
 * object: OpenAI's and Anthropic's) goes back as the provider sent it (clients parse their
 * provider's errors). Anything else (across surfaces; a host's own shape, such as FastAPI's
 * `{"detail":...}`, vLLM's and Mistral's `{"object":"error","message":...}`, Azure's
 * `{"statusCode","message"}`; text) is rendered in the client's error shape with the provider's
 * status and message: an SDK shown `{"detail":...}` reports "status code (no body)".
 */
async function relayError(
  x: Exchange,
  res: ServerResponse,
  up: UpstreamResponse,
  native: boolean,
  cp: ConfiguredProvider,
  attempt: Pick<ForwardInput, 'fallible' | 'candidate'>,
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of up.body) {
    if (size < MAX_ERROR_BODY) chunks.push(c);
    size += c.length;
  }
  x.upstream.endedAt = performance.now();
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  const info = cp.provider.toError(up.statusCode, parsed);
  const err = GatewayError.fromUpstream(up.statusCode, info);
  const error = { type: info.code ?? info.type, message: info.message };
  const headers = copyUpstreamHeaders(up.headers);
  const status = up.statusCode;
  const answer = (): void => {
    x.outcome = 'upstream_error';
    x.error = error;
    if (native && errorShaped(parsed)) {
      x.response.body = text;
      sendBody(res, x, status, text, { ...headers, 'content-type': 'application/json' });
      return;
    }
    const body = JSON.stringify(errorBody(err, x.surface));
    x.response.body = body;
    // A wait the provider named in its body (Gemini's RetryInfo) becomes the header clients' SDKs read.
    const wait = headers['retry-after'] === undefined ? providerRetryAfterMs({}, parsed) : null;
    sendBody(res, x, info.status ?? status, body, wait === null ? headers : { ...headers, 'retry-after': String(Math.ceil(wait / 1000)) });
  };
  const tooLong = contextTooLong(status, info);
  const retryable = fallsBackOnStatus(status) || tooLong;
  if ((attempt.fallible && retryable) || attempt.candidate) {
    throw new AttemptFailed(`HTTP ${status} ${tooLong ? 'context_length_exceeded' : error.type}`.trim(), answer, retryable, String(status), {
      // OpenAI's 429 for a spent quota does not pass with time: another model, maybe; the same, no
      transient: fallsBackOnStatus(status) && info.code !== 'insufficient_quota',
      afterMs: providerRetryAfterMs(up.headers, parsed),
    });
  }
  answer();
}

/** `{"error":{...}}`, with more beside it or not: the shape both surfaces' errors share. */
function errorShaped(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const e = (body as { error?: unknown }).error;
  return e !== null && typeof e === 'object' && !Array.isArray(e);
}
