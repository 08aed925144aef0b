import { describe, expect, test } from 'vitest';
import type { Endpoint } from '../types.ts';
import { azureProvider } from './index.ts';

const target = { baseUrl: 'https://acme.openai.azure.com/', deployments: { 'gpt-4o': 'prod-4o' } };
const req = (endpoint: Endpoint, body: Record<string, unknown> = { model: 'gpt-4o', messages: [] }) => ({
  endpoint,
  body,
  model: 'gpt-4o',
  stream: false,
  apiKey: 'az-key',
  passHeaders: { 'openai-organization': 'org-1' },
});

describe('azureProvider.buildRequest', () => {
  test.each([
    ['chat', 'https://acme.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21'],
    ['completions', 'https://acme.openai.azure.com/openai/deployments/prod-4o/completions?api-version=2024-10-21'],
    ['embeddings', 'https://acme.openai.azure.com/openai/deployments/prod-4o/embeddings?api-version=2024-10-21'],
    ['responses', 'https://acme.openai.azure.com/openai/v1/responses'],
  ] as const)('%s posts to %s with the key in api-key, not authorization', (endpoint, url) => {
    const up = azureProvider.buildRequest(req(endpoint), target);
    expect(up).toMatchObject({ url, method: 'POST' });
    expect(up.headers).toEqual({ 'api-key': 'az-key', 'content-type': 'application/json' });
  });

  test('models is a GET on the resource with the api-version', () => {
    const up = azureProvider.buildRequest({ ...req('models'), model: '' }, { baseUrl: 'https://acme.openai.azure.com', apiVersion: '2025-04-01-preview' });
    expect(up).toEqual({ url: 'https://acme.openai.azure.com/openai/models?api-version=2025-04-01-preview', method: 'GET', headers: { 'api-key': 'az-key' } });
  });

  test('the body is the client body with only model rewritten; responses send the deployment as model', () => {
    const body = { model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'hi' }], temperature: 0, stream_options: { include_usage: true } };
    expect(JSON.parse(azureProvider.buildRequest(req('chat', body), target).body ?? '')).toEqual({ ...body, model: 'gpt-4o' });
    expect(JSON.parse(azureProvider.buildRequest(req('responses', { model: 'gpt-4o', input: 'hi' }), target).body ?? '')).toEqual({ model: 'prod-4o', input: 'hi' });
  });

  test.each([
    ['https://acme.openai.azure.com/openai', 'no deployment entry'],
    ['https://acme.openai.azure.com/openai/v1/', 'no deployment entry'],
  ] as const)('accepts the SDK baseURL form %s and uses the model as deployment when %s', (baseUrl, _when) => {
    const up = azureProvider.buildRequest(req('chat'), { baseUrl, apiVersion: '2024-06-01' });
    expect(up.url).toBe('https://acme.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01');
  });

  test('static target headers are sent; a deployment name cannot escape its path segment', () => {
    const up = azureProvider.buildRequest(req('chat'), { baseUrl: 'https://a.openai.azure.com', headers: { 'x-ms-useragent': 'wl' }, deployments: { 'gpt-4o': 'a/../b?x' } });
    expect(up.url).toBe('https://a.openai.azure.com/openai/deployments/a%2F..%2Fb%3Fx/chat/completions?api-version=2024-10-21');
    expect(up.headers['x-ms-useragent']).toBe('wl');
  });

  test.each([
    ['retrieve', 'GET', 'https://acme.openai.azure.com/openai/v1/responses/resp_1?include%5B%5D=message.output_text.logprobs'],
    ['delete', 'DELETE', 'https://acme.openai.azure.com/openai/v1/responses/resp_1?include%5B%5D=message.output_text.logprobs'],
    ['cancel', 'POST', 'https://acme.openai.azure.com/openai/v1/responses/resp_1/cancel?include%5B%5D=message.output_text.logprobs'],
    ['input_items', 'GET', 'https://acme.openai.azure.com/openai/v1/responses/resp_1/input_items?include%5B%5D=message.output_text.logprobs'],
  ] as const)('a stored response, %s: %s under the v1 API, no api-version, no deployment, no body', (action, method, url) => {
    const stored = { id: 'resp_1', action };
    const up = azureProvider.buildRequest({ ...req('responses', {}), model: '', stored, query: 'include%5B%5D=message.output_text.logprobs' }, target);
    expect(up).toEqual({ url, method, headers: { 'api-key': 'az-key' } });
  });

  test('the messages endpoint is refused', () => {
    expect(azureProvider.endpoints.has('messages')).toBe(false);
    expect(() => azureProvider.buildRequest(req('messages'), target)).toThrow(/not available/);
  });
});

describe('azureProvider.toError', () => {
  test.each([
    [
      400,
      { error: { message: 'filtered', type: null, code: 'content_filter', param: 'prompt', status: 400 } },
      { message: 'filtered', type: 'invalid_request_error', code: 'content_filter', param: 'prompt' },
    ],
    [404, { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' } }, { message: 'The API deployment for this resource does not exist.', type: 'not_found_error', code: 'DeploymentNotFound', param: null }],
    [429, { error: { code: '429', message: 'Rate limit', type: 'rate_limit_error' } }, { message: 'Rate limit', type: 'rate_limit_error', code: '429', param: null }],
    [401, { statusCode: 401, message: 'Access denied due to invalid subscription key.' }, { message: 'Access denied due to invalid subscription key.', type: 'authentication_error', code: null, param: null }],
  ] as const)('HTTP %i %j -> %j', (status, body, info) => {
    expect(azureProvider.toError(status, body)).toEqual(info);
  });
});

describe('azureProvider.buildRequest: media endpoints', () => {
  test.each([
    ['images', '/images/generations'],
    ['speech', '/audio/speech'],
  ] as const)('%s posts JSON to the deployment route %s', (endpoint, path) => {
    const up = azureProvider.buildRequest(req(endpoint, { model: 'gpt-4o', input: 'x' }), target);
    expect(up.url).toBe(`https://acme.openai.azure.com/openai/deployments/prod-4o${path}?api-version=2024-10-21`);
    expect(up.headers['content-type']).toBe('application/json');
  });

  test('a transcription form goes as its bytes, under its own content-type', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const form = { bytes, contentType: 'multipart/form-data; boundary=b' };
    const up = azureProvider.buildRequest({ ...req('transcriptions', { model: 'gpt-4o' }), form }, target);
    expect(up).toMatchObject({ url: 'https://acme.openai.azure.com/openai/deployments/prod-4o/audio/transcriptions?api-version=2024-10-21', method: 'POST', bytes });
    expect(up.body).toBeUndefined();
    expect(up.headers['content-type']).toBe('multipart/form-data; boundary=b');
  });

  test('serves no moderations (Azure has none)', () => {
    expect(azureProvider.endpoints.has('moderations')).toBe(false);
  });
});
