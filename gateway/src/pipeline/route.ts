import { resolveRoute, unknownProviderMessage } from '@watchllm/providers';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { one } from '../http/headers.ts';
import type { ConfiguredProvider, Registry } from '../registry.ts';
import { storedResponseOf } from './parse.ts';
import type { IncomingHttpHeaders } from 'node:http';

const ENDPOINT_PATHS = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
  models: '/v1/models',
  messages: '/v1/messages',
  count_tokens: '/v1/messages/count_tokens',
  moderations: '/v1/moderations',
  images: '/v1/images/generations',
  speech: '/v1/audio/speech',
  transcriptions: '/v1/audio/transcriptions',
  translations: '/v1/audio/translations',
} as const;

/** How an error names a stored-response route. */
const STORED_PATHS = {
  retrieve: 'GET /v1/responses/{id}',
  delete: 'DELETE /v1/responses/{id}',
  cancel: 'POST /v1/responses/{id}/cancel',
  input_items: 'GET /v1/responses/{id}/input_items',
} as const;

/**
 * Picks the provider and the upstream model name. Never from a URL in the request (no SSRF). An
 * alias (config `aliases:`) is routed as the model it stands for, wherever the name comes from (the
 * client, a fallback chain, a balance target, a policy's set_model); the exchange keeps the name.
 */
export function route(x: Exchange, h: IncomingHttpHeaders, registry: Registry): ConfiguredProvider {
  const header = one(h['x-watchllm-provider']);
  const asked = x.request.model;
  const model = asked !== null && x.endpoint !== 'models' ? (registry.aliases.get(asked.toLowerCase()) ?? asked) : asked;
  let providerId: string;
  let upstreamModel: string;
  if (model === null) {
    // GET /v1/models: the provider named by the header, else Anthropic for the Anthropic SDK, else the default.
    // A stored response (GET /v1/responses/{id}, ...) too: the provider that holds it is named the same way;
    // and a moderation or an image naming no model (the provider's default model answers).
    providerId = header?.toLowerCase() ?? (x.surface === 'anthropic' ? 'anthropic' : registry.defaultProvider);
    upstreamModel = '';
    if (!registry.ids.has(providerId)) throw unknownProvider(providerId, registry, 'x-watchllm-provider');
  } else {
    // One model for the Anthropic SDK (GET /v1/models/{model}): Anthropic unless the name says otherwise, as for the list.
    const anthropicModels = x.endpoint === 'models' && x.surface === 'anthropic' && registry.ids.has('anthropic');
    const defaultProvider = anthropicModels ? 'anthropic' : registry.defaultProvider;
    const r = resolveRoute({ model, providerHeader: header, known: registry.ids, defaultProvider, patterns: registry.patterns });
    if (!r.ok) {
      throw new GatewayError({ status: 400, type: 'invalid_request_error', code: r.code, param: r.param, message: r.message });
    }
    providerId = r.provider;
    upstreamModel = r.model;
  }
  const cp = registry.get(providerId)!;
  x.route = { provider: providerId, model: upstreamModel };
  const stored = storedResponseOf(x);
  const path = stored ? STORED_PATHS[stored.action] : x.endpoint === 'models' && model !== null ? '/v1/models/{model}' : ENDPOINT_PATHS[x.endpoint];
  const unsupported = (how: string, advice: string) =>
    new GatewayError({
      status: 400,
      type: 'invalid_request_error',
      code: 'unsupported_endpoint',
      param: stored ? 'x-watchllm-provider' : 'model',
      message: `Provider '${providerId}' does not serve ${path}${how}${asked ? ` (model '${asked}')` : ''}${advice}.`,
    });
  if (!cp.provider.endpoints.has(x.endpoint)) {
    throw unsupported('', stored && header === null ? '; name the provider that holds the response in x-watchllm-provider' : '');
  }
  // Models answers are translated to the OpenAI surface only: an Anthropic client cannot read another API's.
  if (x.endpoint === 'models' && x.surface === 'anthropic' && cp.provider.wire !== 'anthropic') {
    throw unsupported(' to the Anthropic API', '; use its OpenAI-compatible API');
  }
  return cp;
}

function unknownProvider(id: string, registry: Registry, param: string): GatewayError {
  return new GatewayError({
    status: 400,
    type: 'invalid_request_error',
    code: 'unknown_provider',
    param,
    message: unknownProviderMessage(id, registry.ids),
  });
}
