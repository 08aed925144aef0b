/**
 * POST /v1/responses, JSON and stream. Shapes follow the `openai` SDK's Response, ResponseUsage
 * and ResponseStreamEvent types (resources/responses/responses.d.ts) and
 * https://platform.openai.com/docs/api-reference/responses-streaming: named events, each with a
 * `type` equal to the event name and an increasing `sequence_number`; no `[DONE]`.
 *
 * Responses are stored (unless `store: false`) and served again as the API does
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

/** A response the fake holds: what it is once finished, and what it was asked with. */
export interface StoredResponse {
  /** the finished response (completed or incomplete, with its usage) */
  done: Record<string, unknown>;
  /** the request's input as the API lists it (input_items), oldest first */
  inputItems: Record<string, unknown>[];
  background: boolean;
  /** ms since epoch from which a background response is finished */
  readyAt: number;
  /** a background response cancelled before it finished: its answer from then on */
  cancelled: Record<string, unknown> | null;
}

/** By `<flavour>:<id>`: OpenAI's and Azure's are two services, neither holds the other's. */
export type StoredResponses = Map<string, StoredResponse>;

const storeKey = (flavour: Flavour, id: string): string => `${flavour.kind}:${id}`;

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
  frames.push(ev(finalStatus === 'completed' ? 'response.completed' : 'response.incomplete', { response: done }));
  const mid = ctx.scenario.midStreamError;
  const played = mid
    ? withMidStreamError(frames, mid.afterChunks, [ev('error', {
      code: mid.errorType ?? 'server_error', message: mid.message ?? 'The server had an error while processing your request.', param: null,
    })])
    : frames;
  await streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, played);
}

/** The request's `input` as input items: a string is one user message; items keep their fields. */
function inputItems(ctx: Ctx, input: unknown): Record<string, unknown>[] {
  const message = (role: unknown, content: unknown): Record<string, unknown> => ({
    id: `msg_${ctx.nextId()}`, type: 'message', role, status: 'completed',
    content: typeof content === 'string' ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: content }] : content,
  });
  if (typeof input === 'string') return [message('user', input)];
  if (!Array.isArray(input)) return [];
  return input.filter(isRecord).map((item) => {
    if (item.type === undefined || item.type === 'message') return { ...message(item.role, item.content), ...(typeof item.id === 'string' ? { id: item.id } : {}) };
    return { id: typeof item.id === 'string' ? item.id : `item_${ctx.nextId()}`, ...item };
  });
}

/** What a stored response is now: queued/in progress until it is ready, then finished (or cancelled). */
function current(r: StoredResponse): Record<string, unknown> {
  if (r.cancelled) return r.cancelled;
  if (!r.background || Date.now() >= r.readyAt) return r.done;
  const { usage: _usage, ...rest } = r.done;
  return { ...rest, status: 'in_progress', output: [], incomplete_details: null };
}

function notFound(ctx: Ctx, id: string): void {
  openaiError(ctx, 404, `Response with id '${id}' not found.`, 'invalid_request_error', null);
}

export type StoredAction = 'retrieve' | 'delete' | 'cancel' | 'input_items';

/**
 * GET /v1/responses/{id} (retrieve), DELETE /v1/responses/{id}, POST /v1/responses/{id}/cancel,
 * GET /v1/responses/{id}/input_items; Azure serves them under /openai/v1/responses/{id}.
 */
export function storedResponse(ctx: Ctx, action: StoredAction, id: string, flavour: Flavour = OPENAI): void {
  if (openaiGuard(ctx, flavour, true)) return;
  const r = ctx.responses.get(storeKey(flavour, id));
  if (!r) return notFound(ctx, id);
  switch (action) {
    case 'retrieve':
      if (ctx.query.get('stream') === 'true') {
        openaiError(ctx, 400, 'The fake provider does not stream a stored response.', 'invalid_request_error', null, 'stream');
        return;
      }
      return sendJson(ctx, 200, current(r), requestHeaders(ctx));
    case 'delete':
      ctx.responses.delete(storeKey(flavour, id));
      return sendJson(ctx, 200, { id, object: 'response', deleted: true }, requestHeaders(ctx));
    case 'cancel': {
      if (!r.background) {
        openaiError(ctx, 400, 'Only responses created with background=true can be cancelled.', 'invalid_request_error', null);
        return;
      }
      // a finished response stays as it is: cancelling it again is not an error
      if (r.cancelled === null && Date.now() < r.readyAt) {
        const { usage: _usage, ...rest } = r.done;
        r.cancelled = { ...rest, status: 'cancelled', output: [], incomplete_details: null };
      }
      return sendJson(ctx, 200, current(r), requestHeaders(ctx));
    }
    case 'input_items':
      return listInputItems(ctx, r);
  }
}

/** A cursor page of the input items: `order` desc (the default) or asc, `after` an item id, `limit` 1-100 (default 20). */
function listInputItems(ctx: Ctx, r: StoredResponse): void {
  const order = ctx.query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    openaiError(ctx, 400, `Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`, 'invalid_request_error', 'invalid_value', 'order');
    return;
  }
  const limit = Number(ctx.query.get('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    openaiError(ctx, 400, `Invalid 'limit': integer ${String(limit)} is not in [1, 100].`, 'invalid_request_error', 'integer_out_of_range', 'limit');
    return;
  }
  const items = order === 'asc' ? r.inputItems : [...r.inputItems].reverse();
  const after = ctx.query.get('after');
  const from = after === null ? 0 : items.findIndex((i) => i.id === after) + 1;
  const data = items.slice(from, from + limit);
  sendJson(ctx, 200, {
    object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: from + limit < items.length,
  }, requestHeaders(ctx));
}
