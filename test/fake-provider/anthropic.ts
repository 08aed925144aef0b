/**
 * Anthropic Messages API: POST /v1/messages (JSON and SSE), /v1/messages/count_tokens and
 * GET /v1/models. Shapes follow `@anthropic-ai/sdk` (resources/messages/messages.d.ts) and
 * https://docs.anthropic.com/en/api/messages-streaming, https://docs.anthropic.com/en/api/errors.
 */
import { createHash } from 'node:crypto';
import { buildAnswer, hasTools, modelExists, type Answer } from './answer.ts';
import { checkKey, isRecord, retryAfterFor, sendJson, textOf, type Ctx } from './http.ts';
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

/** What the fake "thinks" when `thinking` is enabled: fixed text, streamed in pieces. */
export const FAKE_THINKING = 'The user wants an answer. Let me work it out step by step.';

/** The signature the fake gives a thinking block and checks when the block comes back. */
export function thinkingSignature(thinking: string): string {
  return createHash('sha256').update(`fake-anthropic-thinking\0${thinking}`).digest('base64');
}

/**
 * Anthropic's rules for thinking sent back (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking):
 * with thinking on, the last assistant turn holding tool_use must start with a thinking or
 * redacted_thinking block, and every thinking block must carry the signature it was given.
 * Returns the 400 message, or null when the history is acceptable.
 */
function thinkingError(body: Record<string, unknown>): string | null {
  const on = isRecord(body.thinking) && body.thinking.type === 'enabled';
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  let lastAssistant = -1;
  for (const [i, m] of msgs.entries()) {
    if (!isRecord(m) || m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    lastAssistant = i;
    for (const [j, b] of m.content.entries()) {
      if (isRecord(b) && b.type === 'thinking' && (typeof b.thinking !== 'string' || b.signature !== thinkingSignature(b.thinking))) {
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
  }
  const last = msgs[lastAssistant];
  if (!on || !isRecord(last) || !Array.isArray(last.content)) return null;
  const blocks = last.content.filter(isRecord);
  const first = blocks[0];
  if (!blocks.some((b) => b.type === 'tool_use') || first?.type === 'thinking' || first?.type === 'redacted_thinking') return null;
  return (
    `messages.${lastAssistant}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. ` +
    'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of ' +
    '`tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this ' +
    'requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking'
  );
}

/**
 * Parameter rules the Messages API enforces with a 400 (messages as Anthropic words them): empty
 * text blocks, whitespace-only stop sequences, temperature above 1, and with thinking on a
 * temperature other than 1, top_k, or forced tool use.
 */
function parameterError(body: Record<string, unknown>): string | null {
  const texts = (content: unknown): unknown[] => (Array.isArray(content) ? content.filter((b) => isRecord(b) && b.type === 'text') : []);
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (const m of [...msgs.map((x) => (isRecord(x) ? x.content : undefined)), body.system]) {
    if (m === '' || texts(m).some((b) => isRecord(b) && b.text === '')) return 'messages: text content blocks must be non-empty';
  }
  const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences : [];
  if (stops.some((s) => typeof s !== 'string' || s.trim() === '')) return 'stop_sequences: each stop sequence must contain non-whitespace';
  if (typeof body.temperature === 'number' && (body.temperature < 0 || body.temperature > 1)) return 'temperature: range: 0..1';
  if (isRecord(body.thinking) && body.thinking.type === 'enabled') {
    if (body.temperature !== undefined && body.temperature !== 1) {
      return '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking';
    }
    if (body.top_k !== undefined) return '`top_k` must be unset when thinking is enabled.';
    const choice = body.tool_choice;
    if (isRecord(choice) && (choice.type === 'any' || choice.type === 'tool')) return 'Thinking may not be enabled when tool_choice forces tool use.';
  }
  return null;
}

export async function messages(ctx: Ctx): Promise<void> {
  if (guard(ctx)) return;
  const body = ctx.body ?? {};
  const model = validate(ctx, body, true);
  if (model === undefined) return;
  const refused = parameterError(body) ?? thinkingError(body);
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
  const answer = buildAnswer(ctx.scenario, model, promptWords(body), hasTools(body));
  // Anthropic's output_tokens count the thinking too.
  const a: Answer = thinking && ctx.scenario.usage?.completionTokens === undefined
    ? { ...answer, usage: { ...answer.usage, completion: answer.usage.completion + countWords(thinking) } }
    : answer;
  const id = `msg_${ctx.nextId()}`;
  const toolId = `toolu_${ctx.nextId()}`;
  const content: Record<string, unknown>[] = [];
  if (thinking) content.push({ type: 'thinking', thinking, signature: thinkingSignature(thinking) });
  if (a.text || !a.toolCall) content.push({ type: 'text', text: a.text });
  if (a.toolCall) content.push({ type: 'tool_use', id: toolId, name: a.toolCall.name, input: a.toolCall.arguments });

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
  if (a.text || !a.toolCall) {
    frames.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    frames.push(ev('ping', {}));
    for (const text of a.pieces) frames.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text } }, true));
    frames.push(ev('content_block_stop', { index }));
    index++;
  }
  if (a.toolCall) {
    frames.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: toolId, name: a.toolCall.name, input: {} } }));
    if (index === 0) frames.push(ev('ping', {}));
    // The real API opens tool input with an empty partial_json, then sends the JSON in pieces; a call
    // without arguments gets that empty fragment only.
    const args = JSON.stringify(a.toolCall.arguments);
    for (const partial_json of ['', ...(args === '{}' ? [] : argumentPieces(args, ctx.scenario.chunks))]) {
      frames.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }, true));
    }
    frames.push(ev('content_block_stop', { index }));
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
