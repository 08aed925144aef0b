import { describe, expect, test } from 'vitest';
import type { ProviderRequest } from '../types.ts';
import { anthropicProvider } from './index.ts';

const target = { baseUrl: 'https://api.anthropic.com' };

/**
 * A GET /v1/models call as the gateway hands it over, with the client's query string: from the
 * anthropic SDK (it names its API version), or from an OpenAI client (`forOpenai`).
 */
function modelsUrl(query: string | undefined, forOpenai = false): string {
  const passHeaders: Record<string, string> = forOpenai ? {} : { 'anthropic-version': '2023-06-01' };
  const req: ProviderRequest = { endpoint: 'models', body: {}, model: '', stream: false, apiKey: 'sk-ant-test', passHeaders, query };
  return anthropicProvider.buildRequest(req, target).url;
}

describe('Anthropic models list: pagination reaches Anthropic', () => {
  test('limit, after_id and before_id are sent, so a client can walk past the first page', () => {
    expect(modelsUrl('limit=2&after_id=claude-opus-4-1')).toBe('https://api.anthropic.com/v1/models?limit=2&after_id=claude-opus-4-1');
    expect(modelsUrl('before_id=claude-3-5-haiku-latest')).toBe('https://api.anthropic.com/v1/models?before_id=claude-3-5-haiku-latest');
  });

  test('other parameters are not sent, and values cannot add parameters of their own', () => {
    expect(modelsUrl('key=secret&limit=5&beta=true')).toBe('https://api.anthropic.com/v1/models?limit=5');
    const url = new URL(modelsUrl('after_id=a%26limit%3D1000%23x'));
    expect([...url.searchParams]).toEqual([['after_id', 'a&limit=1000#x']]);
    expect(url.hash).toBe('');
  });

  test('no query, an empty one or empty values add nothing to the URL', () => {
    for (const raw of [undefined, '', 'limit=&after_id=']) expect(modelsUrl(raw)).toBe('https://api.anthropic.com/v1/models');
  });

  test("an OpenAI client's list asks for Anthropic's largest page, unless a limit was given", () => {
    expect(modelsUrl(undefined, true)).toBe('https://api.anthropic.com/v1/models?limit=1000');
    expect(modelsUrl('limit=5', true)).toBe('https://api.anthropic.com/v1/models?limit=5');
  });
});
