/**
 * The Responses API's stored responses (https://platform.openai.com/docs/api-reference/responses/get):
 * what POST /v1/responses keeps, and GET /v1/responses/{id}, DELETE, POST .../cancel and
 * GET .../input_items over it.
 */
import { isRecord, sendJson, type Ctx } from './http.ts';
import { OPENAI, openaiError, openaiGuard, requestHeaders, type Flavour } from './openai.ts';

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

export const storeKey = (flavour: Flavour, id: string): string => `${flavour.kind}:${id}`;

/** The request's `input` as input items: a string is one user message; items keep their fields. */
export function inputItems(ctx: Ctx, input: unknown): Record<string, unknown>[] {
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
