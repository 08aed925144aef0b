import { describe, expect, test } from 'vitest';
import { azureProvider } from '../azure/index.ts';
import { openaiProvider } from '../openai/index.ts';
import type { Provider, ProviderRequest, ProviderTarget } from '../types.ts';
import { anthropicProvider } from './index.ts';
import { toOpenaiModel, toOpenaiModels } from './models.ts';

/** GET /v1/models/{model} as the gateway hands it over. */
function retrieveUrl(p: Provider, target: ProviderTarget, model: string): string {
  const req: ProviderRequest = { endpoint: 'models', body: {}, model, stream: false, apiKey: 'k', passHeaders: {} };
  return p.buildRequest(req, target).url;
}

describe('retrieving one model', () => {
  test("reaches each provider's own endpoint, the id encoded as the SDKs encode it", () => {
    expect(retrieveUrl(openaiProvider, { baseUrl: 'https://api.openai.com/v1' }, 'meta-llama/Llama-3-8B')).toBe(
      'https://api.openai.com/v1/models/meta-llama%2FLlama-3-8B',
    );
    expect(retrieveUrl(anthropicProvider, { baseUrl: 'https://api.anthropic.com' }, 'claude-sonnet-4-5')).toBe(
      'https://api.anthropic.com/v1/models/claude-sonnet-4-5',
    );
    expect(retrieveUrl(azureProvider, { baseUrl: 'https://r.openai.azure.com', apiVersion: '2024-10-21' }, 'gpt-4o')).toBe(
      'https://r.openai.azure.com/openai/models/gpt-4o?api-version=2024-10-21',
    );
  });

  test("an Anthropic model reads as OpenAI's model object; its created_at becomes Unix seconds", () => {
    const info = { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' };
    expect(toOpenaiModel(info)).toEqual({ id: 'claude-sonnet-4-5-20250929', object: 'model', created: 1759104000, owned_by: 'anthropic' });
    expect(anthropicProvider.toOpenaiResponse?.('models', info, { model: 'x', id: 'i', created: 0, includeUsage: false })).toMatchObject({
      object: 'model',
    });
  });

  test("the list reads as OpenAI's list; a list is never taken for one model", () => {
    const info = { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' };
    expect(() => toOpenaiModel({ data: [], has_more: false, first_id: null, last_id: null })).toThrow(/not a model/);
    expect(toOpenaiModels({ data: [info], has_more: false, first_id: info.id, last_id: info.id })).toEqual({
      object: 'list',
      data: [{ id: 'claude-sonnet-4-5-20250929', object: 'model', created: 1759104000, owned_by: 'anthropic' }],
    });
  });
});
