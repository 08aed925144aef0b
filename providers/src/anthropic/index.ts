/**
 * The Anthropic provider: OpenAI chat requests translated to the Messages API, and the native
 * Anthropic surface (`/v1/messages`) passed through with only the model name rewritten.
 * Auth and versioning: https://docs.anthropic.com/en/api/versioning and
 * https://docs.anthropic.com/en/api/overview#authentication (`x-api-key`, `anthropic-version`).
 */
import {
  TranslationError,
  type Endpoint,
  type Provider,
  type ProviderRequest,
  type ProviderTarget,
  type TranslateContext,
  type UpstreamRequest,
} from '../types.ts';
import { anthropicErrorToInfo } from './errors.ts';
import { modelsPath, toOpenaiModels } from './models.ts';
import { toAnthropicChat } from './request.ts';
import { toOpenaiChat } from './response.ts';
import { createAnthropicStreamTranslator } from './stream.ts';
import { AnthropicResponseSchema } from './types.ts';

export { anthropicUsage, createAnthropicUsageAccumulator, type AnthropicUsageAccumulator } from './native.ts';
export { toAnthropic, toAnthropicChat, thinkingWouldBeRefused, DEFAULT_MAX_TOKENS, THINKING_BUDGETS, type AnthropicChat } from './request.ts';
export { toOpenaiChat } from './response.ts';
export { createAnthropicStreamTranslator } from './stream.ts';
export { anthropicErrorToInfo } from './errors.ts';
export { toOpenaiModel } from './models.ts';

/** The version the official SDKs send; a client's own `anthropic-version` header wins. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/** Anthropic OAuth access tokens (`sk-ant-oat01-…`), which its API takes as `Authorization: Bearer`. */
const OAUTH_TOKEN_PREFIX = 'sk-ant-oat';

function headers(req: ProviderRequest, target: ProviderTarget): Record<string, string> {
  const h: Record<string, string> = {
    ...target.headers,
    'content-type': 'application/json',
    'anthropic-version': req.passHeaders['anthropic-version'] ?? target.apiVersion ?? DEFAULT_ANTHROPIC_VERSION,
  };
  if (req.apiKey !== undefined) {
    // An OAuth access token (a Claude subscription's, as Claude Code sends it) goes as a bearer;
    // Anthropic takes API keys in x-api-key only.
    if (req.apiKey.startsWith(OAUTH_TOKEN_PREFIX)) h['authorization'] = `Bearer ${req.apiKey}`;
    else h['x-api-key'] = req.apiKey;
  }
  const beta = req.passHeaders['anthropic-beta'];
  if (beta !== undefined) h['anthropic-beta'] = beta;
  return h;
}

/** baseUrl is in the Anthropic SDK's baseURL form (https://api.anthropic.com, no /v1). */
function messagesUrl(target: ProviderTarget, path = '/v1/messages'): string {
  return `${target.baseUrl.replace(/\/+$/, '')}${path}`;
}

/** The body to send, and whether the chat translation left out the thinking the client asked for. */
function buildBody(req: ProviderRequest): { body: Record<string, unknown>; thinkingDropped: boolean } {
  if (req.endpoint === 'messages' || req.endpoint === 'count_tokens') return { body: { ...req.body, model: req.model }, thinkingDropped: false };
  if (req.endpoint !== 'chat') {
    throw new TranslationError(`Anthropic models do not serve the ${req.endpoint} endpoint`, null);
  }
  const { request, thinkingDropped } = toAnthropicChat(req.body, req.model);
  const { stream: _clientStream, ...body } = request;
  // The gateway's decision to stream is authoritative.
  return { body: req.stream ? { ...body, stream: true } : body, thinkingDropped };
}

function onlyChat(endpoint: Endpoint): void {
  if (endpoint !== 'chat') throw new Error(`Anthropic translation to OpenAI exists only for chat, not ${endpoint}`);
}

export const anthropicProvider: Provider = {
  id: 'anthropic',
  kind: 'anthropic',
  wire: 'anthropic',
  endpoints: new Set<Endpoint>(['chat', 'messages', 'count_tokens', 'models']),

  buildRequest(req: ProviderRequest, target: ProviderTarget): UpstreamRequest {
    // Native Anthropic endpoints (models.ts: the list or one model; /messages-count-tokens).
    if (req.endpoint === 'models') {
      const { 'content-type': _ct, ...h } = headers(req, target);
      // an Anthropic client names its API version; an OpenAI client's list is translated (no pages)
      const forOpenai = req.passHeaders['anthropic-version'] === undefined;
      return { url: messagesUrl(target, modelsPath(req.model, req.query, forOpenai)), method: 'GET', headers: h };
    }
    const path = req.endpoint === 'count_tokens' ? '/v1/messages/count_tokens' : '/v1/messages';
    const { body, thinkingDropped } = buildBody(req);
    return {
      url: messagesUrl(target, path),
      method: 'POST',
      headers: headers(req, target),
      body: JSON.stringify(body),
      ...(thinkingDropped ? { thinkingDropped } : {}),
    };
  },

  toOpenaiResponse(endpoint: Endpoint, body: unknown, ctx: TranslateContext): unknown {
    // GET /v1/models and /v1/models/{model} from the OpenAI surface
    if (endpoint === 'models') return toOpenaiModels(body);
    onlyChat(endpoint);
    const parsed = AnthropicResponseSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`Anthropic response is not a Message: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
    }
    return toOpenaiChat(parsed.data, ctx);
  },

  createStreamTranslator(endpoint: Endpoint, ctx: TranslateContext) {
    onlyChat(endpoint);
    return createAnthropicStreamTranslator(ctx);
  },

  toError: anthropicErrorToInfo,
};
