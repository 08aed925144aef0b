/**
 * Google Gemini through its native API (generativelanguage v1beta), spoken to in the OpenAI format.
 * Auth goes in the `x-goog-api-key` header, never in a `?key=` query: URLs end up in logs.
 * Reference: https://ai.google.dev/api/generate-content, https://ai.google.dev/gemini-api/docs/api-key
 */
import { trimSlash } from '../openai/index.ts';
import { TranslationError, type Endpoint, type Provider, type ProviderRequest, type ProviderTarget, type TranslateContext, type UpstreamRequest } from '../types.ts';
import { geminiErrorToInfo } from './errors.ts';
import { modelResource, toGeminiChat, toGeminiEmbed } from './request.ts';
import { chatToOpenai, embeddingsToOpenai, type EmbeddingEncoding } from './response.ts';
import { createGeminiStreamTranslator } from './stream.ts';

export { createGeminiStreamTranslator } from './stream.ts';
export { chatToOpenai as geminiChatToOpenai, embeddingsToOpenai as geminiEmbeddingsToOpenai, toUsage as geminiUsage } from './response.ts';
export { toGeminiChat, toGeminiEmbed } from './request.ts';
export { geminiErrorToInfo } from './errors.ts';

/** Kept for callers that imported it; TranslateContext now carries `encodingFormat`. */
export type GeminiTranslateContext = TranslateContext;

export const geminiProvider: Provider = {
  id: 'gemini',
  kind: 'gemini',
  wire: 'gemini',
  endpoints: new Set<Endpoint>(['chat', 'embeddings']),

  buildRequest(req: ProviderRequest, target: ProviderTarget): UpstreamRequest {
    const base = `${trimSlash(target.baseUrl)}/${modelPath(req.model)}`;
    const headers: Record<string, string> = { ...target.headers, 'content-type': 'application/json' };
    if (req.apiKey !== undefined) headers['x-goog-api-key'] = req.apiKey;
    if (req.endpoint === 'chat') {
      const url = req.stream ? `${base}:streamGenerateContent?alt=sse` : `${base}:generateContent`;
      return { url, method: 'POST', headers, body: JSON.stringify(toGeminiChat(req.body)) };
    }
    if (req.endpoint === 'embeddings') {
      return { url: `${base}:batchEmbedContents`, method: 'POST', headers, body: JSON.stringify(toGeminiEmbed(req.body, req.model)) };
    }
    throw new TranslationError(`The ${req.endpoint} endpoint is not available for Gemini`, null);
  },

  toOpenaiResponse(endpoint: Endpoint, body: unknown, ctx: GeminiTranslateContext): unknown {
    if (endpoint === 'embeddings') return embeddingsToOpenai(body, ctx, ctx.encodingFormat ?? 'float');
    return chatToOpenai(body, ctx);
  },

  createStreamTranslator(_endpoint: Endpoint, ctx: TranslateContext) {
    return createGeminiStreamTranslator(ctx);
  },

  toError: geminiErrorToInfo,
};

/** Each path segment is escaped so a model name cannot reach another path or add a query. */
function modelPath(model: string): string {
  return modelResource(model).split('/').map(encodeURIComponent).join('/');
}
