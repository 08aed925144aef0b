/**
 * POST /v1/chat/completions and the legacy POST /v1/completions, JSON and SSE, for OpenAI and
 * Azure. Shapes follow the `openai` SDK's ChatCompletion / ChatCompletionChunk / Completion types
 * and https://platform.openai.com/docs/api-reference/chat-streaming.
 */
import { buildAnswer, hasTools, type Answer } from './answer.ts';
import { isRecord, nowSeconds, sendJson, type Ctx } from './http.ts';
import {
  chatUsage, inputWords, messagesWords, openaiError, openaiGuard, requestHeaders, resolveModel, type Flavour,
} from './openai.ts';
import { argumentPieces } from './scenario.ts';
import { DONE_FRAME, SSE_HEADERS, dataFrame, pythonSpaced, streamFrames, withMidStreamError, type Frame } from './sse.ts';

const FINGERPRINT = 'fp_fake0001';
const SAFE = { filtered: false, severity: 'safe' };
/** Azure's content-filter annotations (https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter). */
const CONTENT_FILTER = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER = [{ prompt_index: 0, content_filter_results: { ...CONTENT_FILTER, jailbreak: { filtered: false, detected: false } } }];

function finishReason(a: Answer): string {
  return a.finish === 'tool' ? 'tool_calls' : a.finish;
}

/** `stream_options.include_usage` asks for `usage: null` on every chunk and a final usage chunk. */
function includeUsage(body: Record<string, unknown>): boolean {
  return isRecord(body.stream_options) && body.stream_options.include_usage === true;
}

function streamErrorFrames(ctx: Ctx): Frame[] {
  const e = ctx.scenario.midStreamError;
  return [dataFrame({
    error: { message: e?.message ?? 'The server had an error while processing your request. Sorry about that!', type: e?.errorType ?? 'server_error', param: null, code: null },
  })];
}

/** Common request checks for both endpoints; answers itself and returns false when invalid. */
function checkStreamOptions(ctx: Ctx, body: Record<string, unknown>, flavour: Flavour): boolean {
  // Azure took stream_options from 2024-08-01-preview on; older api-versions refuse the request.
  const version = ctx.query.get('api-version');
  if (flavour.kind === 'azure' && body.stream_options != null && version && /^\d{4}-\d{2}-\d{2}/.test(version) && version < '2024-08-01') {
    openaiError(ctx, 400, 'Unrecognized request argument supplied: stream_options', 'invalid_request_error', null);
    return false;
  }
  if (body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
    openaiError(ctx, 400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'invalid_request_error', null, 'stream_options');
    return false;
  }
  return true;
}

export async function chatCompletions(ctx: Ctx, flavour: Flavour): Promise<void> {
  if (openaiGuard(ctx, flavour)) return;
  const body = ctx.body ?? {};
  const { messages } = body;
  if (messages === undefined) {
    openaiError(ctx, 400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter', 'messages');
    return;
  }
  if (!Array.isArray(messages)) {
    openaiError(ctx, 400, `Invalid type for 'messages': expected an array of objects, but got ${typeof messages} instead.`, 'invalid_request_error', 'invalid_type', 'messages');
    return;
  }
  if (messages.length === 0) {
    openaiError(ctx, 400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'invalid_request_error', 'empty_array', 'messages');
    return;
  }
  if (!checkStreamOptions(ctx, body, flavour)) return;
  const model = resolveModel(ctx, flavour);
  if (model === undefined) return;
  const window = ctx.scenario.contextWindow;
  const asked = messagesWords(messages);
  const maxOut = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : typeof body.max_tokens === 'number' ? body.max_tokens : 0;
  if (window !== undefined && asked + maxOut > window) {
    // OpenAI's wording for a prompt over the model's window
    openaiError(
      ctx, 400,
      `This model's maximum context length is ${window} tokens. However, you requested ${asked + maxOut} tokens (${asked} in the messages, ${maxOut} in the completion). Please reduce the length of the messages or completion.`,
      'invalid_request_error', 'context_length_exceeded', 'messages',
    );
    return;
  }
  // parallel_tool_calls: false allows one call per answer (https://platform.openai.com/docs/guides/function-calling#parallel-function-calling)
  const a = buildAnswer(ctx.scenario, model, asked, hasTools(body), body.parallel_tool_calls !== false);
  const azure = flavour.kind === 'azure';
  const id = `chatcmpl-${ctx.nextId()}`;
  const calls = a.toolCalls.map((c) => ({ id: `call_${ctx.nextId()}`, name: c.name, args: JSON.stringify(c.arguments) }));
  const created = nowSeconds();

  if (body.stream !== true) {
    const message: Record<string, unknown> = {
      role: 'assistant', content: a.text || (calls.length ? null : ''), refusal: null, annotations: [],
    };
    // Parallel tool calls are items of one `tool_calls` array, in the order the model made them
    // (https://platform.openai.com/docs/guides/function-calling#parallel-function-calling).
    if (calls.length) message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } }));
    const choice: Record<string, unknown> = { index: 0, message, logprobs: null, finish_reason: finishReason(a) };
    if (azure) choice.content_filter_results = CONTENT_FILTER;
    const out: Record<string, unknown> = {
      id, object: 'chat.completion', created, model, choices: [choice], service_tier: 'default', system_fingerprint: FINGERPRINT,
    };
    if (!ctx.scenario.omitUsage) out.usage = chatUsage(a.usage);
    if (azure) out.prompt_filter_results = PROMPT_FILTER;
    sendJson(ctx, 200, out, requestHeaders(ctx));
    return;
  }

  const withUsage = includeUsage(body) && !ctx.scenario.omitUsage;
  const base = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: FINGERPRINT };
  const chunk = (delta: Record<string, unknown>, finish: string | null, content = false): Frame => {
    const choice: Record<string, unknown> = { index: 0, delta, logprobs: null, finish_reason: finish };
    if (azure) choice.content_filter_results = content ? CONTENT_FILTER : {};
    return dataFrame(withUsage ? { ...base, choices: [choice], usage: null } : { ...base, choices: [choice] }, content);
  };
  const frames: Frame[] = [];
  // Azure opens every stream with an id-less chunk carrying only the prompt filter results.
  if (azure) frames.push(dataFrame({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: PROMPT_FILTER }));
  if (a.text || !calls.length) {
    frames.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
    for (const p of a.pieces) frames.push(chunk({ content: p }, null, true));
  }
  // Each call streams whole before the next starts: a delta with its `index`, id, type and name
  // (arguments ''), then argument fragments carrying only `index` and `function.arguments`
  // (https://platform.openai.com/docs/api-reference/chat-streaming/streaming).
  for (const [index, c] of calls.entries()) {
    const head: Record<string, unknown> = a.text || index > 0 ? {} : { role: 'assistant', content: null, refusal: null };
    head.tool_calls = [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }];
    frames.push(chunk(head, null));
    for (const p of argumentPieces(c.args, ctx.scenario.chunks)) {
      frames.push(chunk({ tool_calls: [{ index, function: { arguments: p } }] }, null, true));
    }
  }
  frames.push(chunk({}, finishReason(a)));
  if (withUsage) frames.push(dataFrame({ ...base, choices: [], usage: chatUsage(a.usage) }));
  frames.push(DONE_FRAME);
  await play(ctx, frames);
}

function play(ctx: Ctx, frames: Frame[]): Promise<void> {
  const mid = ctx.scenario.midStreamError;
  const out = mid ? withMidStreamError(frames, mid.afterChunks, streamErrorFrames(ctx)) : frames;
  return streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, ctx.scenario.spacedJson ? pythonSpaced(out) : out);
}

/** Legacy text completions (https://platform.openai.com/docs/api-reference/completions). */
export async function completions(ctx: Ctx, flavour: Flavour): Promise<void> {
  if (openaiGuard(ctx, flavour)) return;
  const body = ctx.body ?? {};
  if (!checkStreamOptions(ctx, body, flavour)) return;
  const model = resolveModel(ctx, flavour);
  if (model === undefined) return;
  const a = buildAnswer(ctx.scenario, model, inputWords(body.prompt), false);
  const id = `cmpl-${ctx.nextId()}`;
  const created = nowSeconds();
  if (body.stream !== true) {
    const out: Record<string, unknown> = {
      id, object: 'text_completion', created, model, system_fingerprint: FINGERPRINT,
      choices: [{ text: a.text, index: 0, logprobs: null, finish_reason: a.finish === 'length' ? 'length' : 'stop' }],
    };
    if (!ctx.scenario.omitUsage) out.usage = usageOf(a);
    sendJson(ctx, 200, out, requestHeaders(ctx));
    return;
  }
  const withUsage = includeUsage(body) && !ctx.scenario.omitUsage;
  const base = { id, object: 'text_completion', created, model, system_fingerprint: FINGERPRINT };
  const chunk = (text: string, finish: string | null, content: boolean): Frame => {
    const choices = [{ text, index: 0, logprobs: null, finish_reason: finish }];
    return dataFrame(withUsage ? { ...base, choices, usage: null } : { ...base, choices }, content);
  };
  const frames = a.pieces.map((p) => chunk(p, null, true));
  frames.push(chunk('', a.finish === 'length' ? 'length' : 'stop', false));
  if (withUsage) frames.push(dataFrame({ ...base, choices: [], usage: usageOf(a) }));
  frames.push(DONE_FRAME);
  await play(ctx, frames);
}

/** The legacy endpoint's usage has no details objects. */
function usageOf(a: Answer): Record<string, number> {
  return { prompt_tokens: a.usage.prompt, completion_tokens: a.usage.completion, total_tokens: a.usage.prompt + a.usage.completion };
}
