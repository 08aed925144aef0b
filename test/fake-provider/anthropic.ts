/**
 * Anthropic Messages API: POST /v1/messages (JSON and SSE), /v1/messages/count_tokens and
 * GET /v1/models. Shapes follow `@anthropic-ai/sdk` (resources/messages/messages.d.ts) and
 * https://docs.anthropic.com/en/api/messages-streaming, https://docs.anthropic.com/en/api/errors.
 */
import { buildAnswer, hasTools, modelExists, type Answer } from './answer.ts';
import { checkKey, isRecord, retryAfterFor, sendJson, textOf, type Ctx } from './http.ts';
import { FAKE_THINKING, parameterError, thinkingError, thinkingSignature, toolResultError } from './anthropic-rules.ts';
import { argumentPieces, countWords, splitText, type TokenCounts } from './scenario.ts';
import { SSE_HEADERS, eventFrame, streamFrames, withMidStreamError, type Frame } from './sse.ts';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 503: 'api_error', 529: 'overloaded_error',
};
const ERROR_MESSAGES: Record<string, string> = {
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  api_error: 'Internal server error',
  overloaded_error: 'Overloaded',
};

function headers(ctx: Ctx): Record<string, string> {
  return { 'request-id': `req_${ctx.nextId()}` };
}

/** `{"type":"error","error":{"type","message"},"request_id"}` with the status Anthropic uses. */
export function anthropicError(ctx: Ctx, status: number, message?: string, type?: string): void {
  const h = headers(ctx);
  const t = type ?? ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const retry = retryAfterFor(ctx.scenario, status);
  if (retry) h['retry-after'] = retry;
  sendJson(ctx, status, {
    type: 'error', error: { type: t, message: message ?? ERROR_MESSAGES[t] ?? `Error ${status}` }, request_id: h['request-id'],
  }, h);
}

/** Auth, version header, scenario error and JSON parsing. Returns true when it has answered. */
function guard(ctx: Ctx): boolean {
  const check = checkKey(ctx, ctx.call.headers['x-api-key']);
  if (check !== 'ok') {
    anthropicError(ctx, 401, check === 'missing' ? 'x-api-key header is required' : 'invalid x-api-key', 'authentication_error');
    return true;
  }
  if (!ctx.call.headers['anthropic-version']) {
    anthropicError(ctx, 400, 'anthropic-version: header is required', 'invalid_request_error');
    return true;
  }
  const { status, errorMessage, errorType } = ctx.scenario;
  if (status !== undefined && status >= 400) {
    anthropicError(ctx, status, errorMessage, errorType);
    return true;
  }
  if (ctx.req.method === 'POST' && (ctx.badJson || !ctx.body)) {
    anthropicError(ctx, 400, 'There was an error parsing the body of your request.', 'invalid_request_error');
    return true;
  }
  return false;
}

/** Words of `system` and of every message's text and tool_result content. */
function promptWords(body: Record<string, unknown>): number {
  let n = countWords(textOf(body.system));
  if (!Array.isArray(body.messages)) return n;
  for (const m of body.messages) {
    if (!isRecord(m)) continue;
    n += countWords(textOf(m.content));
    if (!Array.isArray(m.content)) continue;
    for (const block of m.content) if (isRecord(block) && block.type === 'tool_result') n += countWords(textOf(block.content));
  }
  return n;
}

/** Anthropic's `input_tokens` excludes cache reads and writes (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching). */
function usageOf(t: TokenCounts, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: Math.max(0, t.prompt - t.cached - t.cacheWrite),
    cache_creation_input_tokens: t.cacheWrite,
    cache_read_input_tokens: t.cached,
    cache_creation: { ephemeral_5m_input_tokens: t.cacheWrite - (t.cacheWrite1h ?? 0), ephemeral_1h_input_tokens: t.cacheWrite1h ?? 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function stopReason(a: Answer): string {
  return a.finish === 'tool' ? 'tool_use' : a.finish === 'length' ? 'max_tokens' : 'end_turn';
}

/** Validates the body; answers 400/404 itself and returns the model when the request is valid. */
function validate(ctx: Ctx, body: Record<string, unknown>, needsMaxTokens: boolean): string | undefined {
  for (const field of needsMaxTokens ? ['model', 'messages', 'max_tokens'] : ['model', 'messages']) {
    if (body[field] === undefined) {
      anthropicError(ctx, 400, `${field}: Field required`, 'invalid_request_error');
      return undefined;
    }
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    anthropicError(ctx, 400, 'messages: at least one message is required', 'invalid_request_error');
    return undefined;
  }
  const model = body.model;
  if (typeof model !== 'string' || !modelExists(model)) {
    anthropicError(ctx, 404, `model: ${String(model)}`, 'not_found_error');
    return undefined;
  }
  return model;
}

export async function messages(ctx: Ctx): Promise<void> {
  if (guard(ctx)) return;
  const body = ctx.body ?? {};
  const model = validate(ctx, body, true);
  if (model === undefined) return;
  const refused = parameterError(body) ?? toolResultError(body) ?? thinkingError(body);
  if (refused) {
    anthropicError(ctx, 400, refused, 'invalid_request_error');
    return;
  }
  const window = ctx.scenario.contextWindow;
  if (window !== undefined && promptWords(body) > window) {
    // Anthropic's wording for a prompt over the model's window
    anthropicError(ctx, 400, `prompt is too long: ${promptWords(body)} tokens > ${window} maximum`, 'invalid_request_error');
    return;
  }
  const thinking = isRecord(body.thinking) && body.thinking.type === 'enabled' ? FAKE_THINKING : null;
  // disable_parallel_tool_use: "the model will output at most one tool use" (https://docs.anthropic.com/en/api/messages#body-tool-choice)
  const parallel = !(isRecord(body.tool_choice) && body.tool_choice.disable_parallel_tool_use === true);
  const answer = buildAnswer(ctx.scenario, model, promptWords(body), hasTools(body), parallel);
  // Anthropic's output_tokens count the thinking too.
  const a: Answer = thinking && ctx.scenario.usage?.completionTokens === undefined
    ? { ...answer, usage: { ...answer.usage, completion: answer.usage.completion + countWords(thinking) } }
    : answer;
  const id = `msg_${ctx.nextId()}`;
  const tools = a.toolCalls.map((c) => ({ id: `toolu_${ctx.nextId()}`, name: c.name, input: c.arguments }));
  const content: Record<string, unknown>[] = [];
  if (thinking) content.push({ type: 'thinking', thinking, signature: thinkingSignature(thinking) });
  if (a.text || !tools.length) content.push({ type: 'text', text: a.text });
  // Parallel tool use: one tool_use block per call, in order (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#parallel-tool-use).
  for (const t of tools) content.push({ type: 'tool_use', ...t });

  if (body.stream !== true) {
    sendJson(ctx, 200, {
      id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason(a), stop_sequence: null,
      usage: usageOf(a.usage, a.usage.completion),
    }, headers(ctx));
    return;
  }

  const ev = (type: string, payload: Record<string, unknown>, isContent = false): Frame =>
    eventFrame(type, { type, ...payload }, isContent);
  const frames: Frame[] = [ev('message_start', {
    message: {
      id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
      // The real API reports a small running output count at the start; message_delta has the total.
      usage: usageOf(a.usage, Math.min(1, a.usage.completion)),
    },
  })];
  let index = 0;
  if (thinking) {
    frames.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    for (const piece of splitText(thinking, 3)) {
      frames.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } }, true));
    }
    frames.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: thinkingSignature(thinking) } }));
    frames.push(ev('content_block_stop', { index }));
    index++;
  }
  if (a.text || !tools.length) {
    frames.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    frames.push(ev('ping', {}));
    for (const text of a.pieces) frames.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text } }, true));
    frames.push(ev('content_block_stop', { index }));
    index++;
  }
  // Each tool_use block streams whole (start, input_json_delta fragments, stop) before the next
  // starts (https://docs.anthropic.com/en/docs/build-with-claude/streaming#streaming-request-with-tool-use).
  for (const t of tools) {
    frames.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} } }));
    if (index === 0) frames.push(ev('ping', {}));
    // The real API opens tool input with an empty partial_json, then sends the JSON in pieces; a call
    // without arguments gets that empty fragment only.
    const args = JSON.stringify(t.input);
    for (const partial_json of ['', ...(args === '{}' ? [] : argumentPieces(args, ctx.scenario.chunks))]) {
      frames.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }, true));
    }
    frames.push(ev('content_block_stop', { index }));
    index++;
  }
  const u = usageOf(a.usage, a.usage.completion);
  frames.push(ev('message_delta', {
    delta: { stop_reason: stopReason(a), stop_sequence: null },
    usage: {
      input_tokens: u.input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens,
      cache_read_input_tokens: u.cache_read_input_tokens, output_tokens: u.output_tokens,
    },
  }));
  frames.push(ev('message_stop', {}));
  const mid = ctx.scenario.midStreamError;
  const played = mid
    ? withMidStreamError(frames, mid.afterChunks, [ev('error', {
      error: { type: mid.errorType ?? 'overloaded_error', message: mid.message ?? 'Overloaded' },
    })])
    : frames;
  await streamFrames(ctx, { ...SSE_HEADERS, ...headers(ctx) }, played);
}

/** POST /v1/messages/count_tokens (https://docs.anthropic.com/en/api/messages-count-tokens). */
export function countTokens(ctx: Ctx): void {
  if (guard(ctx)) return;
  const body = ctx.body ?? {};
  if (validate(ctx, body, false) === undefined) return;
  sendJson(ctx, 200, { input_tokens: ctx.scenario.usage?.promptTokens ?? promptWords(body) }, headers(ctx));
}

export const ANTHROPIC_MODELS = ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-3-5-haiku-latest'] as const;

const modelInfo = (id: string): Record<string, unknown> => ({ type: 'model', id, display_name: id, created_at: '2025-02-19T00:00:00Z' });

/** GET /v1/models in Anthropic's shape (https://docs.anthropic.com/en/api/models-list). */
export function anthropicModels(ctx: Ctx): void {
  if (guard(ctx)) return;
  const data = ANTHROPIC_MODELS.map(modelInfo);
  sendJson(ctx, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }, headers(ctx));
}

/**
 * GET /v1/models/{model_id} (https://docs.anthropic.com/en/api/models): one ModelInfo; a model that
 * does not exist is a 404 not_found_error, worded as for a message to it.
 */
export function anthropicModel(ctx: Ctx, id: string): void {
  if (guard(ctx)) return;
  if (!modelExists(id)) return anthropicError(ctx, 404, `model: ${id}`, 'not_found_error');
  sendJson(ctx, 200, modelInfo(id), headers(ctx));
}

export { FAKE_THINKING, thinkingSignature } from './anthropic-rules.ts';
