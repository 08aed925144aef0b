/**
 * Gemini API (generativelanguage v1beta): models/{model}:generateContent,
 * :streamGenerateContent (`?alt=sse` data-only SSE, otherwise a streamed JSON array),
 * :countTokens, :embedContent, :batchEmbedContents, and GET models.
 * Shapes follow https://ai.google.dev/api/generate-content and https://ai.google.dev/gemini-api/docs/troubleshooting;
 * errors are google.rpc.Status: `{"error":{"code","message","status","details"}}`.
 */
import { buildAnswer, hasTools, modelExists, type Answer } from './answer.ts';
import { embeddingVector, toFloatArray } from './embeddings.ts';
import { checkKey, isRecord, sendJson, textOf, type Ctx } from './http.ts';
import { countWords } from './scenario.ts';
import { streamFrames, withMidStreamError, type Frame } from './sse.ts';

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
const MESSAGES: Record<number, string> = {
  429: 'Resource has been exhausted (e.g. check quota).',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
};
const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' };

function errorBody(status: number, message?: string, rpcStatus?: string, details?: unknown[]): Record<string, unknown> {
  const error: Record<string, unknown> = {
    code: status, message: message ?? MESSAGES[status] ?? `Error ${status}`, status: rpcStatus ?? STATUS[status] ?? 'UNKNOWN',
  };
  if (details) error.details = details;
  return { error };
}

/** Gemini sends no retry-after header: the delay is a RetryInfo detail in the body. */
export function geminiError(ctx: Ctx, status: number, message?: string, rpcStatus?: string): void {
  const details = status === 429 ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${ctx.scenario.retryAfter ?? 1}s` }] : undefined;
  sendJson(ctx, status, errorBody(status, message, rpcStatus, details), JSON_HEADERS);
}

/**
 * Key from `x-goog-api-key` or `?key=`. Like the real API, a missing key is 403 PERMISSION_DENIED
 * and a wrong one is 400 INVALID_ARGUMENT with reason API_KEY_INVALID (not 401).
 */
function guard(ctx: Ctx): boolean {
  const check = checkKey(ctx, ctx.call.headers['x-goog-api-key'] ?? ctx.query.get('key') ?? undefined);
  if (check === 'missing') {
    geminiError(ctx, 403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    return true;
  }
  if (check === 'invalid') {
    const message = 'API key not valid. Please pass a valid API key.';
    sendJson(ctx, 400, errorBody(400, message, 'INVALID_ARGUMENT', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
      { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
    ]), JSON_HEADERS);
    return true;
  }
  const { status, errorMessage, errorType } = ctx.scenario;
  if (status !== undefined && status >= 400) {
    geminiError(ctx, status, errorMessage, errorType);
    return true;
  }
  if (ctx.req.method === 'POST' && (ctx.badJson || !ctx.body)) {
    geminiError(ctx, 400, 'Invalid JSON payload received.');
    return true;
  }
  return false;
}

function contentWords(content: unknown): number {
  return isRecord(content) ? countWords(textOf(content.parts)) : 0;
}

function promptWords(body: Record<string, unknown>): number {
  let n = contentWords(body.systemInstruction);
  if (Array.isArray(body.contents)) for (const c of body.contents) n += contentWords(c);
  return n;
}

function usageMetadata(a: Answer, final: boolean): Record<string, unknown> {
  const u = a.usage;
  const details = [{ modality: 'TEXT', tokenCount: u.prompt }];
  if (!final) return { promptTokenCount: u.prompt, totalTokenCount: u.prompt, promptTokensDetails: details };
  // candidatesTokenCount excludes thinking; totalTokenCount counts prompt, candidates and thoughts.
  const out: Record<string, unknown> = {
    promptTokenCount: u.prompt, candidatesTokenCount: u.completion - u.reasoning, totalTokenCount: u.prompt + u.completion,
    promptTokensDetails: details,
  };
  if (u.cached > 0) out.cachedContentTokenCount = u.cached;
  if (u.reasoning > 0) out.thoughtsTokenCount = u.reasoning;
  return out;
}

function responseChunk(ctx: Ctx, model: string, id: string, a: Answer, parts: unknown[], final: boolean): Record<string, unknown> {
  const candidate: Record<string, unknown> = { content: { parts, role: 'model' }, index: 0 };
  if (final) candidate.finishReason = a.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
  const out: Record<string, unknown> = { candidates: [candidate] };
  if (!ctx.scenario.omitUsage) out.usageMetadata = usageMetadata(a, final);
  out.modelVersion = model;
  out.responseId = id;
  return out;
}

async function generate(ctx: Ctx, model: string, stream: boolean): Promise<void> {
  const body = ctx.body ?? {};
  if (!Array.isArray(body.contents) || body.contents.length === 0) {
    geminiError(ctx, 400, '* GenerateContentRequest.contents: contents is not specified\n');
    return;
  }
  const refused = functionResponseError(body.contents);
  if (refused) {
    geminiError(ctx, 400, refused);
    return;
  }
  const a = buildAnswer(ctx.scenario, model, promptWords(body), hasTools(body));
  const id = ctx.nextId();
  // Parallel function calls are several functionCall parts of one content, complete (never in
  // fragments): https://ai.google.dev/gemini-api/docs/function-calling#parallel_function_calling
  const calls = a.toolCalls.map((c) => ({ functionCall: { name: c.name, args: c.arguments } }));
  if (!stream) {
    const whole: Record<string, unknown>[] = a.text ? [{ text: a.text }, ...calls] : calls;
    sendJson(ctx, 200, responseChunk(ctx, model, id, a, whole.length ? whole : [{ text: '' }], true), JSON_HEADERS);
    return;
  }
  // Text streams one piece per response; the function calls come together in one response after it.
  const parts: unknown[][] = a.pieces.map((text) => [{ text }]);
  if (calls.length) parts.push(calls);
  if (parts.length === 0) parts.push([{ text: '' }]);
  // Each part is one streamed response; the last carries finishReason and the full usage.
  const sse = ctx.query.get('alt') === 'sse';
  const frames: Frame[] = parts.map((chunkParts, i) => {
    const json = JSON.stringify(responseChunk(ctx, model, id, a, chunkParts, i === parts.length - 1));
    // alt=sse frames end in CRLF CRLF, as the real API sends them.
    return { data: sse ? `data: ${json}\r\n\r\n` : `${i === 0 ? '[' : ',\r\n'}${json}`, content: true };
  });
  if (!sse) frames.push({ data: ']', content: false });
  const mid = ctx.scenario.midStreamError;
  const errorJson = JSON.stringify(errorBody(500, mid?.message, mid?.errorType));
  const played = mid
    ? withMidStreamError(frames, mid.afterChunks, [{ data: sse ? `data: ${errorJson}\r\n\r\n` : `,\r\n${errorJson}]`, content: false }])
    : frames;
  await streamFrames(ctx, sse ? { 'content-type': 'text/event-stream' } : JSON_HEADERS, played);
}

/**
 * Gemini's rule for a function-call turn: the next content answers it with exactly as many
 * functionResponse parts as it had functionCall parts (parallel calls' responses together in one
 * content). Returns the 400 message, or null.
 */
function functionResponseError(contents: unknown[]): string | null {
  const parts = (c: unknown): Record<string, unknown>[] => (isRecord(c) && Array.isArray(c.parts) ? c.parts.filter(isRecord) : []);
  for (const [i, c] of contents.entries()) {
    const calls = parts(c).filter((p) => p.functionCall !== undefined).length;
    if (calls === 0 || i === contents.length - 1) continue;
    const responses = parts(contents[i + 1]).filter((p) => p.functionResponse !== undefined).length;
    if (responses !== calls) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
  }
  return null;
}

function dims(model: string, asked: unknown): number {
  if (typeof asked === 'number' && asked > 0) return Math.floor(asked);
  return model.includes('gemini-embedding') ? 3072 : 768;
}

function embedOne(model: string, req: Record<string, unknown>): { values: number[] } {
  const text = isRecord(req.content) ? textOf(req.content.parts).trim() : '';
  return { values: toFloatArray(embeddingVector(text, dims(model, req.outputDimensionality))) };
}

export const GEMINI_MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.0-flash', 'text-embedding-004', 'gemini-embedding-001'] as const;

/** GET /v1beta/models (https://ai.google.dev/api/models#method:-models.list). */
export function geminiModels(ctx: Ctx): void {
  if (guard(ctx)) return;
  sendJson(ctx, 200, {
    models: GEMINI_MODELS.map((m) => ({
      name: `models/${m}`, version: '001', displayName: m, inputTokenLimit: 1048576, outputTokenLimit: 8192,
      supportedGenerationMethods: m.includes('embedding') ? ['embedContent'] : ['generateContent', 'countTokens'],
    })),
  }, JSON_HEADERS);
}

/** POST /v1beta/models/{model}:{method}. */
export async function gemini(ctx: Ctx, model: string, method: string): Promise<void> {
  if (guard(ctx)) return;
  const known = ['generateContent', 'streamGenerateContent', 'countTokens', 'embedContent', 'batchEmbedContents'];
  if (!known.includes(method)) {
    geminiError(ctx, 404, `Method not found: ${method}`);
    return;
  }
  if (!modelExists(model)) {
    geminiError(ctx, 404, `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
    return;
  }
  const body = ctx.body ?? {};
  if (method === 'generateContent' || method === 'streamGenerateContent') {
    await generate(ctx, model, method === 'streamGenerateContent');
  } else if (method === 'countTokens') {
    sendJson(ctx, 200, { totalTokens: ctx.scenario.usage?.promptTokens ?? promptWords(body) }, JSON_HEADERS);
  } else if (method === 'embedContent') {
    sendJson(ctx, 200, { embedding: embedOne(model, body) }, JSON_HEADERS);
  } else {
    const requests = Array.isArray(body.requests) ? body.requests.filter(isRecord) : [];
    if (requests.length === 0) {
      geminiError(ctx, 400, '* BatchEmbedContentsRequest.requests: requests is not specified\n');
      return;
    }
    if (requests.length > 100) {
      geminiError(ctx, 400, '* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n');
      return;
    }
    sendJson(ctx, 200, { embeddings: requests.map((r) => embedOne(model, r)) }, JSON_HEADERS);
  }
}
