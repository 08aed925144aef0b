import type { ServerResponse } from 'node:http';
import { anthropicUsage, costUsd, MEDIA_ENDPOINTS, usageFromOpenai, type Price, type TranslateContext } from '@watchllm/providers';
import { answerText } from '../answer-text.ts';
import { chatCompletionSse, ReplayError } from '../cache/replay.ts';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { sendBody } from '../http/respond.ts';
import type { ConfiguredProvider } from '../registry.ts';
import { MAX_MODEL_CHARS, MAX_RESPONSE_ID_CHARS, storedResponseOf } from './parse.ts';
import { checkJsonAnswer } from './policies.ts';
import { imagesStoredBody, mediaCostUsd, readMediaAnswer } from './media.ts';
import type { CompiledPolicySet } from '@watchllm/policies';

/**
 * A complete (non-streamed) answer. It is read whole before it is sent: it is small, the usage is at
 * its end, and post-response policies must see it before the client does. Every endpoint answers
 * JSON: a body that is not (a web server's page from a wrong base_url, a proxy's notice) is a 502
 * the client's SDK raises, never relayed as if it were the completion.
 */
export async function respondJson(
  x: Exchange,
  res: ServerResponse,
  body: AsyncIterable<Buffer>,
  opts: {
    cp: ConfiguredProvider;
    native: boolean;
    ctx: TranslateContext;
    headers: Record<string, string>;
    contentType: string;
    policies: CompiledPolicySet | null;
    /** the routed model's price: a priced answer carries its cost in `x-watchllm-cost-usd` */
    price: Price | null;
  },
): Promise<void> {
  const chunks: Buffer[] = [];
  // (a body that fails or stalls: forward.ts records when the wait for it ended)
  for await (const c of body) chunks.push(c);
  x.upstream.endedAt = performance.now();
  const buf = Buffer.concat(chunks);
  const json = parseAnswer(buf, opts.contentType, opts.cp.provider.id);

  let out: unknown = json;
  let text: string | Buffer = buf;
  if (!opts.native) {
    const translate = opts.cp.provider.toOpenaiResponse;
    if (!translate) throw badUpstream(opts.cp.provider.id, 'a body the gateway cannot translate');
    try {
      out = translate(x.endpoint, json, opts.ctx);
    } catch (e) {
      throw badUpstream(opts.cp.provider.id, `a body the gateway cannot translate (${e instanceof Error ? e.message : 'unknown'})`);
    }
    text = JSON.stringify(out);
  }
  // Gemini's batchEmbedContents reports no tokens (its translation says 0): left to the estimate.
  // Models answers have neither usage nor a finish reason (an Azure model's `status` is not one).
  if (storedResponseOf(x)) readStoredAnswer(x, out);
  else if (MEDIA_ENDPOINTS.has(x.endpoint)) readMediaAnswer(x, out);
  else if (x.endpoint !== 'models') {
    readUsage(x, out, opts.cp.provider.kind === 'gemini' && x.endpoint === 'embeddings');
    // a new response (a background one answers `queued`): the call's own, whatever the policies do with the answer
    if (x.endpoint === 'responses') x.response.responseId = responseIdOf(out);
  }
  let checked = out;
  if (opts.policies) {
    checked = checkJsonAnswer(x, opts.policies, out);
    if (checked !== out) text = JSON.stringify(checked);
  }
  if (x.request.stream) return streamWhole(x, res, checked, opts);
  // (an image's base64 is stored as its size)
  x.response.body = x.endpoint === 'images' ? imagesStoredBody(checked) : typeof text === 'string' ? text : text.toString('utf8');
  // what the event will record (finish.ts prices the same usage at the same price; a media call, by
  // its units where it reports no usage: dall-e's images, a free moderation)
  const cost = !opts.price
    ? null
    : MEDIA_ENDPOINTS.has(x.endpoint)
      ? mediaCostUsd(x, opts.price)
      : x.response.usage && x.response.usageSource === 'provider'
        ? costUsd(opts.price, x.response.usage)
        : null;
  if (cost !== null) x.responseHeaders[COST_HEADER] = usdText(cost);
  sendBody(res, x, 200, text, { ...opts.headers, 'content-type': 'application/json' });
}

/**
 * A complete JSON answer to a streamed call, from a host that ignores `stream` (or serves the
 * endpoint only whole). Relayed as it is, the client's SDK would read an empty stream and go on as if
 * the model had said nothing. A chat completion is streamed as OpenAI would have sent it (as a cache
 * hit is: cache/replay.ts), its usage chunk when the client asked for usage; anything else is a 502
 * saying what happened. Either way the usage it reported stays recorded (the provider billed it).
 */
function streamWhole(x: Exchange, res: ServerResponse, answer: unknown, opts: { cp: ConfiguredProvider; contentType: string; headers: Record<string, string> }): void {
  if (x.surface === 'openai' && x.endpoint === 'chat') {
    try {
      const sse = chatCompletionSse(answer, { includeUsage: x.request.clientWantsUsage });
      // a stream's stored body is its answer text
      x.response.body = answerText(answer);
      sendBody(res, x, 200, sse, {
        ...opts.headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      });
      return;
    } catch (e) {
      if (!(e instanceof ReplayError)) throw e;
    }
  }
  throw badUpstream(
    opts.cp.provider.id,
    `a complete JSON answer to a streamed call, not a stream (content-type ${opts.contentType || 'none'}); it may not stream this endpoint: call it without stream`,
  );
}

export const COST_HEADER = 'x-watchllm-cost-usd';

/** USD as plain decimal text to the 1e-10 (never `1e-7`): `0.00001234`, `0`. */
export function usdText(usd: number): string {
  const fixed = usd.toFixed(10);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

function readUsage(x: Exchange, out: unknown, unreported: boolean): void {
  if (out === null || typeof out !== 'object') return;
  const o = out as Record<string, unknown>;
  const usage = x.surface === 'anthropic' ? anthropicUsage(o) : usageFromOpenai(o['usage']);
  if (usage && !unreported) {
    x.response.usage = usage;
    x.response.usageSource = 'provider';
  }
  if (x.surface === 'anthropic') {
    x.response.finishReason = typeof o['stop_reason'] === 'string' ? o['stop_reason'] : null;
    return;
  }
  const choices = o['choices'];
  if (Array.isArray(choices) && choices[0] && typeof choices[0] === 'object') {
    const f = (choices[0] as Record<string, unknown>)['finish_reason'];
    if (typeof f === 'string') x.response.finishReason = f;
  } else if (typeof o['status'] === 'string') {
    x.response.finishReason = o['status']; // Responses API
    // A response that failed comes with 200 and its error inside: the client gets it as OpenAI sent
    // it (the SDK hands it over as such), and the call is recorded as the provider's failure.
    if (o['status'] === 'failed') failedResponse(x, o['error']);
  }
}

/**
 * The id of a Responses API response object (`{"id":"resp_…","object":"response",…}`), or null. One
 * longer than any stored-response path may name (MAX_RESPONSE_ID_CHARS) can never be asked about.
 */
export function responseIdOf(out: unknown): string | null {
  if (out === null || typeof out !== 'object') return null;
  const o = out as Record<string, unknown>;
  const id = o['id'];
  return o['object'] === 'response' && typeof id === 'string' && id !== '' && id.length <= MAX_RESPONSE_ID_CHARS ? id : null;
}

/** The statuses of a response that will not change any more (its usage is final). */
const FINISHED = new Set(['completed', 'incomplete', 'failed', 'cancelled']);

/**
 * The answer to a stored-response call: the response itself (retrieve, cancel), its input items, or
 * a deletion. A response names the model that answered it: the call is recorded, and the answer
 * policies see it, as that model's (a policy for `gpt-4o*` treats the answer read back as it treated
 * it when it was made). Its status is the finish reason; a `failed` one is the provider's answer
 * about that response, not a failure of this call. Its usage is kept only for a background response
 * that has finished: one made without `background` was answered, and its usage recorded, by its
 * POST; a background one's POST answered `queued`, without usage. finish.ts then keeps it on the
 * first call that sees it, only (keepStoredUsageOnce).
 */
function readStoredAnswer(x: Exchange, out: unknown): void {
  if (out === null || typeof out !== 'object' || (out as Record<string, unknown>)['object'] !== 'response') return;
  const o = out as Record<string, unknown>;
  const model = o['model'];
  if (typeof model === 'string' && model !== '' && model.length <= MAX_MODEL_CHARS) {
    x.request.model = model;
    if (x.route) x.route = { ...x.route, model };
  }
  const status = typeof o['status'] === 'string' ? o['status'] : null;
  x.response.finishReason = status;
  const usage = o['background'] === true && status !== null && FINISHED.has(status) ? usageFromOpenai(o['usage']) : null;
  if (usage) {
    x.response.usage = usage;
    x.response.usageSource = 'provider';
  }
}

/** A Responses API answer with `status: failed`: the call ended with the provider's error. */
function failedResponse(x: Exchange, error: unknown): void {
  const e = error !== null && typeof error === 'object' ? (error as Record<string, unknown>) : {};
  x.outcome = 'upstream_error';
  x.error = {
    type: typeof e['code'] === 'string' && e['code'] !== '' ? e['code'] : 'response_failed',
    message: typeof e['message'] === 'string' && e['message'] !== '' ? e['message'] : 'The provider reported the response as failed.',
  };
}

/**
 * The answer's JSON. A body labelled JSON must parse. One without a content-type (some hosts send
 * none), or under another label (`text/plain` from a sloppy host), is taken when it is a JSON
 * object or array: the body decides. Anything else (an HTML page) is a 502 naming its content
 * type and pointing at the provider's base_url, as a redirect is.
 */
function parseAnswer(buf: Buffer, contentType: string, provider: string): unknown {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const labelledJson = type.includes('json');
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch {
    if (labelledJson) throw badUpstream(provider, 'an invalid JSON body');
    json = undefined;
  }
  if (labelledJson || (json !== null && typeof json === 'object')) return json;
  throw badUpstream(provider, `HTTP 200 with ${type === '' ? 'a body without a content-type' : `a ${type} body`} that is not JSON (${buf.length} bytes); check its base_url`);
}

function badUpstream(provider: string, what: string): GatewayError {
  return new GatewayError({
    status: 502,
    type: 'api_error',
    code: 'bad_upstream_response',
    outcome: 'upstream_error',
    message: `The provider '${provider}' returned ${what}.`,
  });
}
