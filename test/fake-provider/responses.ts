/**
 * POST /v1/responses, JSON and stream. Shapes follow the `openai` SDK's Response, ResponseUsage
 * and ResponseStreamEvent types (resources/responses/responses.d.ts) and
 * https://platform.openai.com/docs/api-reference/responses-streaming: named events, each with a
 * `type` equal to the event name and an increasing `sequence_number`; no `[DONE]`.
 *
 * Responses are stored (unless `store: false`, see responses-stored.ts) and served again as the API does
 * (https://platform.openai.com/docs/api-reference/responses/get): GET /v1/responses/{id},
 * DELETE /v1/responses/{id} (`{id, object: 'response', deleted: true}`), POST /v1/responses/{id}/cancel
 * (background responses only), GET /v1/responses/{id}/input_items (a cursor page: `after`, `limit`,
 * `order`, newest first by default); an id it does not hold is OpenAI's 404. `background: true`
 * answers `queued` at once; the response is then `in_progress` for `Scenario.backgroundMs` and
 * finished after that (with its usage), unless cancelled first.
 */
import { buildAnswer, hasTools, type Answer } from './answer.ts';
import { isRecord, nowSeconds, sendJson, textOf, type Ctx } from './http.ts';
import { OPENAI, openaiError, openaiGuard, requestHeaders, resolveModel, type Flavour } from './openai.ts';
import { inputItems, storeKey } from './responses-stored.ts';
import { argumentPieces, countWords, splitText, summaryParts, type TokenCounts } from './scenario.ts';
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
  /** one per tool call, in order: the `call_id` the client answers with, and the item's own id */
  calls: Array<{ call: string; item: string }>;
  reasoning: string;
}

function messageItem(ids: Ids, text: string, status: string): Record<string, unknown> {
  const content = status === 'completed' ? [{ type: 'output_text', annotations: [], logprobs: [], text }] : [];
  return { id: ids.message, type: 'message', status, content, role: 'assistant' };
}

function callItem(ids: Ids, a: Answer, i: number, args: string, status: string): Record<string, unknown> {
  return { id: ids.calls[i]?.item, type: 'function_call', status, arguments: args, call_id: ids.calls[i]?.call, name: a.toolCalls[i]?.name ?? '' };
}

/** A reasoning item (https://platform.openai.com/docs/guides/reasoning#reasoning-summaries): no status, a summary of summary_text parts. */
function reasoningItem(ids: Ids, summary: string[]): Record<string, unknown> {
  return { id: ids.reasoning, type: 'reasoning', summary: summary.map((text) => ({ type: 'summary_text', text })) };
}

/** The summary the request gets: the scenario's parts when it asks for one with `reasoning.summary`, else none. */
function summaryAsked(body: Record<string, unknown>, parts: string[]): string[] {
  const r = body.reasoning;
  return isRecord(r) && typeof r.summary === 'string' && r.summary !== 'none' ? parts : [];
}


/** The response object, echoing the request parameters the real API echoes. */
function responseObject(
  ctx: Ctx, ids: Ids, model: string, created: number, status: string, output: unknown[], usage: TokenCounts | null,
): Record<string, unknown> {
  const b = ctx.body ?? {};
  const truncated = status === 'incomplete';
  const out: Record<string, unknown> = {
    id: ids.response, object: 'response', created_at: created, status, background: b.background === true, error: null,
    incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
    instructions: b.instructions ?? null, max_output_tokens: b.max_output_tokens ?? null, max_tool_calls: null,
    model, output, parallel_tool_calls: b.parallel_tool_calls ?? true, previous_response_id: b.previous_response_id ?? null,
    reasoning: reasoningEcho(b.reasoning), service_tier: 'default', store: b.store ?? true,
    temperature: b.temperature ?? 1, text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: b.tool_choice ?? 'auto', tools: b.tools ?? [], top_logprobs: 0, top_p: b.top_p ?? 1,
    truncation: 'disabled', user: null, metadata: b.metadata ?? {},
  };
  if (usage && !ctx.scenario.omitUsage) out.usage = usageOf(usage);
  return out;
}

/** The request's `reasoning` as the response echoes it: effort and summary, null when not asked. */
function reasoningEcho(r: unknown): Record<string, unknown> {
  return { effort: isRecord(r) ? (r.effort ?? null) : null, summary: isRecord(r) ? (r.summary ?? null) : null };
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
  const a = buildAnswer(ctx.scenario, model, promptWords(body), hasTools(body), body.parallel_tool_calls !== false);
  const ids: Ids = {
    response: `resp_${ctx.nextId()}`, message: `msg_${ctx.nextId()}`,
    calls: a.toolCalls.map(() => ({ call: `call_${ctx.nextId()}`, item: `fc_${ctx.nextId()}` })),
    reasoning: `rs_${ctx.nextId()}`,
  };
  const created = nowSeconds();
  const args = a.toolCalls.map((c) => JSON.stringify(c.arguments));
  const reasoning = ctx.scenario.reasoningSummary !== undefined;
  const summary = summaryAsked(body, summaryParts(ctx.scenario));
  const finalStatus = a.finish === 'length' ? 'incomplete' : 'completed';
  // Output items in the order the model produced them: reasoning first, then the message, then
  // one function_call item per parallel tool call (https://platform.openai.com/docs/guides/function-calling).
  const output: Record<string, unknown>[] = [];
  if (reasoning) output.push(reasoningItem(ids, summary));
  if (a.text || !a.toolCalls.length) output.push(messageItem(ids, a.text, 'completed'));
  for (const [i, json] of args.entries()) output.push(callItem(ids, a, i, json, 'completed'));
  const done = responseObject(ctx, ids, model, created, finalStatus, output, a.usage);
  const background = body.background === true;
  if (background && body.store === false) {
    openaiError(ctx, 400, 'Background mode requires `store` to be true.', 'invalid_request_error', null, 'background');
    return;
  }
  if (body.store !== false) {
    ctx.responses.set(storeKey(flavour, ids.response), {
      done, inputItems: inputItems(ctx, body.input), background, readyAt: Date.now() + (ctx.scenario.backgroundMs ?? 0), cancelled: null,
    });
  }

  if (background && body.stream !== true) {
    sendJson(ctx, 200, responseObject(ctx, ids, model, created, 'queued', [], null), requestHeaders(ctx));
    return;
  }
  if (body.stream !== true) {
    sendJson(ctx, 200, done, requestHeaders(ctx));
    return;
  }

  // Events are numbered when played, after a mid-stream error has cut the list: the API numbers
  // the events it sends consecutively, the error event included
  // (https://platform.openai.com/docs/api-reference/responses-streaming/error).
  const ev = (type: string, payload: Record<string, unknown>, content = false): Event => ({ type, payload, content });
  const inProgress = responseObject(ctx, ids, model, created, 'in_progress', [], null);
  const events: Event[] = [ev('response.created', { response: inProgress }), ev('response.in_progress', { response: inProgress })];
  let index = 0;
  if (reasoning) {
    // https://platform.openai.com/docs/api-reference/responses-streaming/response/reasoning_summary_part
    const at = { item_id: ids.reasoning, output_index: index };
    events.push(ev('response.output_item.added', { output_index: index, item: reasoningItem(ids, []) }));
    for (const [summary_index, text] of summary.entries()) {
      const part = { type: 'summary_text', text: '' };
      events.push(ev('response.reasoning_summary_part.added', { ...at, summary_index, part }));
      for (const delta of splitText(text)) {
        events.push(ev('response.reasoning_summary_text.delta', { ...at, summary_index, delta }));
      }
      events.push(ev('response.reasoning_summary_text.done', { ...at, summary_index, text }));
      events.push(ev('response.reasoning_summary_part.done', { ...at, summary_index, part: { ...part, text } }));
    }
    events.push(ev('response.output_item.done', { output_index: index, item: reasoningItem(ids, summary) }));
    index++;
  }
  if (a.text || !a.toolCalls.length) {
    const at = { item_id: ids.message, output_index: index, content_index: 0 };
    const emptyPart = { type: 'output_text', annotations: [], logprobs: [], text: '' };
    events.push(ev('response.output_item.added', { output_index: index, item: messageItem(ids, '', 'in_progress') }));
    events.push(ev('response.content_part.added', { ...at, part: emptyPart }));
    for (const delta of a.pieces) events.push(ev('response.output_text.delta', { ...at, delta, logprobs: [] }, true));
    events.push(ev('response.output_text.done', { ...at, text: a.text, logprobs: [] }));
    events.push(ev('response.content_part.done', { ...at, part: { ...emptyPart, text: a.text } }));
    events.push(ev('response.output_item.done', { output_index: index, item: messageItem(ids, a.text, 'completed') }));
    index++;
  }
  // Each function_call item streams whole, under its own output_index, before the next is added.
  for (const [i, json] of args.entries()) {
    const at = { item_id: ids.calls[i]?.item, output_index: index };
    events.push(ev('response.output_item.added', { output_index: index, item: callItem(ids, a, i, '', 'in_progress') }));
    for (const delta of argumentPieces(json, ctx.scenario.chunks)) {
      events.push(ev('response.function_call_arguments.delta', { ...at, delta }, true));
    }
    events.push(ev('response.function_call_arguments.done', { ...at, name: a.toolCalls[i]?.name, arguments: json }));
    events.push(ev('response.output_item.done', { output_index: index, item: callItem(ids, a, i, json, 'completed') }));
    index++;
  }
  events.push(ev(finalStatus === 'completed' ? 'response.completed' : 'response.incomplete', { response: done }));
  const mid = ctx.scenario.midStreamError;
  const played = mid
    ? withMidStreamError(events, mid.afterChunks, [ev('error', {
      code: mid.errorType ?? 'server_error', message: mid.message ?? 'The server had an error while processing your request.', param: null,
    })])
    : events;
  const frames = played.map((e, sequence_number): Frame => eventFrame(e.type, { type: e.type, ...e.payload, sequence_number }, e.content));
  await streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, frames);
}

/** One stream event before it is numbered. */
interface Event {
  type: string;
  payload: Record<string, unknown>;
  content: boolean;
}

export { storedResponse, type StoredAction, type StoredResponse, type StoredResponses } from './responses-stored.ts';
