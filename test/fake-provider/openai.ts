/**
 * OpenAI (and Azure OpenAI) shared pieces: auth, error bodies, usage objects, and the small
 * endpoints (models, embeddings). Shapes follow the `openai` SDK types
 * (resources/chat/completions, resources/embeddings, resources/models) and
 * https://platform.openai.com/docs/guides/error-codes.
 */
import { modelExists } from './answer.ts';
import { embeddingVector, toBase64, toFloatArray } from './embeddings.ts';
import { bearer, checkKey, isRecord, retryAfterFor, sendJson, textOf, type Ctx } from './http.ts';
import { countWords, type TokenCounts } from './scenario.ts';

/**
 * Azure serves the same wire format with an `api-key` header, either under
 * /openai/deployments/:deployment/...?api-version= or under the v1 API /openai/v1/... where
 * `model` in the body names the deployment and no api-version is needed (deployment null).
 */
export type Flavour = { kind: 'openai' } | { kind: 'azure'; deployment: string | null };

export const OPENAI: Flavour = { kind: 'openai' };

const DEFAULTS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Country, region, or territory not supported' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests per min (RPM). Please try again in 1s.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

export function requestHeaders(ctx: Ctx): Record<string, string> {
  return { 'x-request-id': `req_${ctx.nextId()}`, 'openai-processing-ms': '1', 'openai-version': '2020-10-01' };
}

/** `{"error":{"message","type","param","code"}}`, the body every OpenAI endpoint fails with. */
export function openaiError(
  ctx: Ctx, status: number, message?: string, type?: string, code?: string | null, param: string | null = null,
): void {
  const d = DEFAULTS[status] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null, message: `Error ${status}` };
  const headers = requestHeaders(ctx);
  const retry = retryAfterFor(ctx.scenario, status);
  if (retry) headers['retry-after'] = retry;
  sendJson(ctx, status, {
    error: { message: message ?? d.message, type: type ?? d.type, param, code: code === undefined ? d.code : code },
  }, headers);
}

/** Azure's own error body for what its front door rejects: `{"error":{"code":"401","message"}}`. */
function azureError(ctx: Ctx, status: number, code: string, message: string): void {
  const headers: Record<string, string> = { 'apim-request-id': ctx.nextId() };
  const retry = retryAfterFor(ctx.scenario, status);
  if (retry) headers['retry-after'] = retry;
  sendJson(ctx, status, { error: { code, message } }, headers);
}

function deploymentNotFound(ctx: Ctx): void {
  azureError(ctx, 404, 'DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.');
}

/**
 * Auth, scenario errors and JSON parsing, in the order the real APIs apply them.
 * Returns true when it has answered (the handler must stop). `bodyless`: a POST that takes no body
 * (the Responses API's cancel).
 */
export function openaiGuard(ctx: Ctx, flavour: Flavour, bodyless = false): boolean {
  if (flavour.kind === 'azure') {
    const check = checkKey(ctx, ctx.call.headers['api-key'] ?? bearer(ctx));
    if (check === 'missing') {
      azureError(ctx, 401, '401', 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.');
      return true;
    }
    if (check === 'invalid') {
      azureError(ctx, 401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
      return true;
    }
    if (flavour.deployment !== null && !ctx.query.get('api-version')) {
      azureError(ctx, 404, '404', 'Resource not found');
      return true;
    }
    // Azure routes by deployment before it looks at the body.
    if (flavour.deployment && !modelExists(flavour.deployment)) {
      deploymentNotFound(ctx);
      return true;
    }
  } else {
    const check = checkKey(ctx, bearer(ctx));
    if (check === 'missing') {
      openaiError(ctx, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.", 'invalid_request_error', null);
      return true;
    }
    if (check === 'invalid') {
      openaiError(ctx, 401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
      return true;
    }
  }
  const { status, errorMessage, errorType } = ctx.scenario;
  if (status !== undefined && status >= 400) {
    if (flavour.kind === 'azure' && status === 429) {
      azureError(ctx, 429, '429', errorMessage ?? 'Requests to the ChatCompletions_Create Operation have exceeded call rate limit of your current pricing tier. Please retry after 1 second.');
    } else {
      // a spent quota is a 429 whose type and code both say so, as OpenAI sends it
      openaiError(ctx, status, errorMessage, errorType, errorType === 'insufficient_quota' ? 'insufficient_quota' : undefined);
    }
    return true;
  }
  if (ctx.req.method === 'POST' && !bodyless && (ctx.badJson || !ctx.body)) {
    openaiError(ctx, 400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)', 'invalid_request_error', null);
    return true;
  }
  return false;
}

/**
 * The model to answer as: the deployment for Azure, `body.model` otherwise. Answers 400 (missing)
 * or 404 (unknown) itself and returns undefined then.
 */
export function resolveModel(ctx: Ctx, flavour: Flavour): string | undefined {
  const model = flavour.kind === 'azure' && flavour.deployment !== null ? flavour.deployment : ctx.body?.model;
  if (typeof model !== 'string' || model === '') {
    openaiError(ctx, 400, 'you must provide a model parameter', 'invalid_request_error', null);
    return undefined;
  }
  if (flavour.kind === 'azure' && !modelExists(model)) {
    deploymentNotFound(ctx);
    return undefined;
  }
  if (!modelExists(model)) {
    openaiError(ctx, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    return undefined;
  }
  return model;
}

export function chatUsage(t: TokenCounts): Record<string, unknown> {
  return {
    prompt_tokens: t.prompt,
    completion_tokens: t.completion,
    total_tokens: t.prompt + t.completion,
    prompt_tokens_details: { cached_tokens: t.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: t.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
    },
  };
}

/** Words of a prompt that is a string, a string array, token ids, or arrays of token ids. */
export function inputWords(input: unknown): number {
  if (typeof input === 'string') return countWords(input);
  if (!Array.isArray(input)) return 0;
  let n = 0;
  for (const item of input) {
    if (typeof item === 'string') n += countWords(item);
    else if (typeof item === 'number') n += 1;
    else if (Array.isArray(item)) n += item.length;
  }
  return n;
}

export function messagesWords(messages: unknown[]): number {
  let n = 0;
  for (const m of messages) if (isRecord(m)) n += countWords(textOf(m.content));
  return n;
}

export const OPENAI_MODELS = [
  'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o3-mini', 'gpt-3.5-turbo-instruct',
  'text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002',
] as const;

const MODEL_CREATED = 1715367049;

/**
 * GET /v1/models and /v1/models/:id (https://platform.openai.com/docs/api-reference/models);
 * Azure's GET /openai/models?api-version= lists the same ids with its extra fields, and
 * /openai/models/:id?api-version= (Models - Get) answers one of them.
 */
export function models(ctx: Ctx, id: string | undefined, flavour: Flavour = OPENAI): void {
  if (openaiGuard(ctx, flavour)) return;
  if (flavour.kind === 'azure') {
    const azureModel = (m: string): Record<string, unknown> => ({
      id: m, object: 'model', created_at: MODEL_CREATED, status: 'succeeded', lifecycle_status: 'generally-available',
      capabilities: { chat_completion: !m.includes('embedding'), completion: m.includes('instruct'), embeddings: m.includes('embedding') },
    });
    if (id === undefined) {
      sendJson(ctx, 200, { data: OPENAI_MODELS.map(azureModel), object: 'list' }, { 'apim-request-id': ctx.nextId() });
    } else if ((OPENAI_MODELS as readonly string[]).includes(id)) {
      sendJson(ctx, 200, azureModel(id), { 'apim-request-id': ctx.nextId() });
    } else {
      azureError(ctx, 404, 'NotFound', `The specified model '${id}' does not exist.`);
    }
    return;
  }
  const one = (m: string): Record<string, unknown> => ({ id: m, object: 'model', created: MODEL_CREATED, owned_by: 'system' });
  if (id === undefined) {
    sendJson(ctx, 200, { object: 'list', data: OPENAI_MODELS.map(one) }, requestHeaders(ctx));
  } else if (modelExists(id)) {
    sendJson(ctx, 200, one(id), requestHeaders(ctx));
  } else {
    openaiError(ctx, 404, `The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
  }
}

const MAX_EMBEDDING_INPUTS = 2048;

function defaultDimensions(model: string): number {
  return model.includes('3-large') ? 3072 : 1536;
}

/** POST /v1/embeddings: one deterministic vector per input; honours dimensions and base64. */
export function embeddings(ctx: Ctx, flavour: Flavour): void {
  if (openaiGuard(ctx, flavour)) return;
  const b = ctx.body ?? {};
  const input = b.input;
  if (input === undefined) {
    openaiError(ctx, 400, "'input' is a required property", 'invalid_request_error', null);
    return;
  }
  const items: unknown[] = Array.isArray(input) && (input.length === 0 || typeof input[0] !== 'number') ? input : [input];
  if (items.length === 0 || items.some((i) => i === '' || (typeof i !== 'string' && !Array.isArray(i)))) {
    openaiError(ctx, 400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'invalid_request_error', null);
    return;
  }
  // At most 2048 inputs per request (https://platform.openai.com/docs/api-reference/embeddings/create#embeddings-create-input);
  // worded as OpenAI words its other array-length checks (see `empty_array` for messages).
  if (items.length > MAX_EMBEDDING_INPUTS) {
    openaiError(
      ctx, 400,
      `Invalid 'input': array too long. Expected an array with maximum length ${MAX_EMBEDDING_INPUTS}, but got an array with length ${items.length} instead.`,
      'invalid_request_error', 'array_above_max_length', 'input',
    );
    return;
  }
  const model = resolveModel(ctx, flavour);
  if (model === undefined) return;
  // Only text-embedding-3 and later take `dimensions` (https://platform.openai.com/docs/api-reference/embeddings/create#embeddings-create-dimensions);
  // ada-002 refuses it, even at its own 1536.
  if (b.dimensions !== undefined && b.dimensions !== null && model.includes('ada-002')) {
    openaiError(ctx, 400, 'This model does not support specifying dimensions.', 'invalid_request_error', null);
    return;
  }
  const dims = typeof b.dimensions === 'number' && b.dimensions > 0 ? Math.floor(b.dimensions) : defaultDimensions(model);
  const base64 = b.encoding_format === 'base64';
  const data = items.map((item, index) => {
    const v = embeddingVector(typeof item === 'string' ? item : JSON.stringify(item), dims);
    return { object: 'embedding', index, embedding: base64 ? toBase64(v) : toFloatArray(v) };
  });
  const prompt = ctx.scenario.usage?.promptTokens ?? inputWords(input);
  const body: Record<string, unknown> = { object: 'list', data, model };
  if (!ctx.scenario.omitUsage) body.usage = { prompt_tokens: prompt, total_tokens: prompt };
  sendJson(ctx, 200, body, requestHeaders(ctx));
}
