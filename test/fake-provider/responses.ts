/**
 * POST /v1/responses, JSON and stream. Shapes follow the `openai` SDK's Response, ResponseUsage
 * and ResponseStreamEvent types (resources/responses/responses.d.ts) and
 * https://platform.openai.com/docs/api-reference/responses-streaming: named events, each with a
 * `type` equal to the event name and an increasing `sequence_number`; no `[DONE]`.
 */
import { buildAnswer, hasTools, type Answer } from './answer.ts';
import { isRecord, nowSeconds, sendJson, textOf, type Ctx } from './http.ts';
import { OPENAI, openaiError, openaiGuard, requestHeaders, resolveModel, type Flavour } from './openai.ts';
import { argumentPieces, countWords, type TokenCounts } from './scenario.ts';
import { SSE_HEADERS, eventFrame, streamFrames, withMidStreamError, type Frame } from './sse.ts';

/** Words of `instructions` plus the input: a string, or items (messages, function outputs). */
function promptWords(body: Record<string, unknown>): number {
  let n = typeof body.instructions === 'string' ? countWords(body.instructions) : 0;
  const { input } = body;
  if (typeof input === 'string') return n + countWords(input);
  if (!Array.isArray(input)) return n;
  for (const item of input) {
    if (!isRecord(item)) continue;
    n += countWords(textOf(item.content));
    if (typeof item.output === 'string') n += countWords(item.output);
  }
  return n;
}

function usageOf(t: TokenCounts): Record<string, unknown> {
  return {
    input_tokens: t.prompt,
    input_tokens_details: { cached_tokens: t.cached, cache_write_tokens: t.cacheWrite },
    output_tokens: t.completion,
    output_tokens_details: { reasoning_tokens: t.reasoning },
    total_tokens: t.prompt + t.completion,
  };
}

interface Ids {
  response: string;
  message: string;
  call: string;
  callItem: string;
}

function messageItem(ids: Ids, text: string, status: string): Record<string, unknown> {
  const content = status === 'completed' ? [{ type: 'output_text', annotations: [], logprobs: [], text }] : [];
  return { id: ids.message, type: 'message', status, content, role: 'assistant' };
}

function callItem(ids: Ids, a: Answer, args: string, status: string): Record<string, unknown> {
  return { id: ids.callItem, type: 'function_call', status, arguments: args, call_id: ids.call, name: a.toolCall?.name ?? '' };
}

/** The response object, echoing the request parameters the real API echoes. */
function responseObject(
  ctx: Ctx, ids: Ids, model: string, created: number, status: string, output: unknown[], usage: TokenCounts | null,
): Record<string, unknown> {
  const b = ctx.body ?? {};
  const truncated = status === 'incomplete';
  const out: Record<string, unknown> = {
    id: ids.response, object: 'response', created_at: created, status, background: false, error: null,
    incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
    instructions: b.instructions ?? null, max_output_tokens: b.max_output_tokens ?? null, max_tool_calls: null,
    model, output, parallel_tool_calls: b.parallel_tool_calls ?? true, previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: null, summary: null }, service_tier: 'default', store: b.store ?? true,
    temperature: b.temperature ?? 1, text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: b.tool_choice ?? 'auto', tools: b.tools ?? [], top_logprobs: 0, top_p: b.top_p ?? 1,
    truncation: 'disabled', user: null, metadata: b.metadata ?? {},
  };
  if (usage && !ctx.scenario.omitUsage) out.usage = usageOf(usage);
  return out;
}

/** POST /v1/responses; Azure serves it only under its v1 API (/openai/v1/responses). */
export async function responses(ctx: Ctx, flavour: Flavour = OPENAI): Promise<void> {
  if (openaiGuard(ctx, flavour)) return;
  const body = ctx.body ?? {};
  if (body.input === undefined) {
    openaiError(ctx, 400, "Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input');
    return;
  }
  const model = resolveModel(ctx, flavour);
  if (model === undefined) return;
  const a = buildAnswer(ctx.scenario, model, promptWords(body), hasTools(body));
  const ids: Ids = {
    response: `resp_${ctx.nextId()}`, message: `msg_${ctx.nextId()}`, call: `call_${ctx.nextId()}`, callItem: `fc_${ctx.nextId()}`,
  };
  const created = nowSeconds();
  const args = a.toolCall ? JSON.stringify(a.toolCall.arguments) : '';
  const finalStatus = a.finish === 'length' ? 'incomplete' : 'completed';
  const output: Record<string, unknown>[] = [];
  if (a.text || !a.toolCall) output.push(messageItem(ids, a.text, 'completed'));
  if (a.toolCall) output.push(callItem(ids, a, args, 'completed'));

  if (body.stream !== true) {
    sendJson(ctx, 200, responseObject(ctx, ids, model, created, finalStatus, output, a.usage), requestHeaders(ctx));
    return;
  }

  let seq = 0;
  const ev = (type: string, payload: Record<string, unknown>, content = false): Frame =>
    eventFrame(type, { type, ...payload, sequence_number: seq++ }, content);
  const inProgress = responseObject(ctx, ids, model, created, 'in_progress', [], null);
  const frames: Frame[] = [ev('response.created', { response: inProgress }), ev('response.in_progress', { response: inProgress })];
  let index = 0;
  if (a.text || !a.toolCall) {
    const at = { item_id: ids.message, output_index: index, content_index: 0 };
    const emptyPart = { type: 'output_text', annotations: [], logprobs: [], text: '' };
    frames.push(ev('response.output_item.added', { output_index: index, item: messageItem(ids, '', 'in_progress') }));
    frames.push(ev('response.content_part.added', { ...at, part: emptyPart }));
    for (const delta of a.pieces) frames.push(ev('response.output_text.delta', { ...at, delta, logprobs: [] }, true));
    frames.push(ev('response.output_text.done', { ...at, text: a.text, logprobs: [] }));
    frames.push(ev('response.content_part.done', { ...at, part: { ...emptyPart, text: a.text } }));
    frames.push(ev('response.output_item.done', { output_index: index, item: messageItem(ids, a.text, 'completed') }));
    index++;
  }
  if (a.toolCall) {
    const at = { item_id: ids.callItem, output_index: index };
    frames.push(ev('response.output_item.added', { output_index: index, item: callItem(ids, a, '', 'in_progress') }));
    for (const delta of argumentPieces(args, ctx.scenario.chunks)) {
      frames.push(ev('response.function_call_arguments.delta', { ...at, delta }, true));
    }
    frames.push(ev('response.function_call_arguments.done', { ...at, name: a.toolCall.name, arguments: args }));
    frames.push(ev('response.output_item.done', { output_index: index, item: callItem(ids, a, args, 'completed') }));
  }
  const done = finalStatus === 'completed' ? 'response.completed' : 'response.incomplete';
  frames.push(ev(done, { response: responseObject(ctx, ids, model, created, finalStatus, output, a.usage) }));
  const mid = ctx.scenario.midStreamError;
  const played = mid
    ? withMidStreamError(frames, mid.afterChunks, [ev('error', {
      code: mid.errorType ?? 'server_error', message: mid.message ?? 'The server had an error while processing your request.', param: null,
    })])
    : frames;
  await streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, played);
}
