import { describe, expect, test } from 'vitest';
import { TranslationError } from '../types.ts';
import { geminiProvider } from './index.ts';

const target = { baseUrl: 'https://generativelanguage.googleapis.com/v1beta/' };
const req = (over: object) => ({
  endpoint: 'chat' as const,
  body: { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] },
  model: 'gemini-2.5-flash',
  stream: false,
  apiKey: 'k-123',
  passHeaders: {},
  ...over,
});

describe('geminiProvider.buildRequest', () => {
  test.each([
    [false, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent'],
    [true, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse'],
  ] as const)('chat with stream=%s posts to %s with the key in x-goog-api-key, not the URL', (stream, url) => {
    const up = geminiProvider.buildRequest(req({ stream }), target);
    expect(up.url).toBe(url);
    expect(up.method).toBe('POST');
    expect(up.headers['x-goog-api-key']).toBe('k-123');
    expect(up.headers['authorization']).toBeUndefined();
    expect(up.url).not.toContain('k-123');
    expect(JSON.parse(up.body ?? '')).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
  });

  test('embeddings post to batchEmbedContents', () => {
    const up = geminiProvider.buildRequest(req({ endpoint: 'embeddings', body: { input: 'x' }, model: 'text-embedding-004' }), target);
    expect(up.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(JSON.parse(up.body ?? '')).toEqual({ requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'x' }] } }] });
  });

  test('a model name cannot escape its path segment', () => {
    const up = geminiProvider.buildRequest(req({ model: 'x:generateContent?key=1#' }), target);
    expect(up.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/x%3AgenerateContent%3Fkey%3D1%23:generateContent');
  });

  test('endpoints it does not serve are refused', () => {
    expect(geminiProvider.endpoints.has('responses')).toBe(false);
    expect(() => geminiProvider.buildRequest(req({ endpoint: 'responses' }), target)).toThrow(TranslationError);
  });
});

describe('geminiProvider.toError', () => {
  test.each([
    [400, { error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' } }, { message: 'bad', type: 'invalid_request_error', code: 'INVALID_ARGUMENT', param: null }],
    [401, { error: { code: 401, message: 'no', status: 'UNAUTHENTICATED' } }, { message: 'no', type: 'authentication_error', code: 'UNAUTHENTICATED', param: null }],
    [403, { error: { code: 403, message: 'no', status: 'PERMISSION_DENIED' } }, { message: 'no', type: 'permission_error', code: 'PERMISSION_DENIED', param: null }],
    [429, [{ error: { code: 429, message: 'slow', status: 'RESOURCE_EXHAUSTED' } }], { message: 'slow', type: 'rate_limit_error', code: 'RESOURCE_EXHAUSTED', param: null }],
    [503, { error: { code: 503, message: 'busy', status: 'UNAVAILABLE' } }, { message: 'busy', type: 'api_error', code: 'UNAVAILABLE', param: null }],
    [
      400,
      { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } },
      { message: 'API key not valid.', type: 'authentication_error', code: 'invalid_api_key', param: null, status: 401 },
    ],
    [502, 'Bad Gateway', { message: 'Gemini error (HTTP 502): Bad Gateway', type: 'api_error', code: null, param: null }],
  ] as const)('HTTP %i %j -> %j', (status, body, info) => {
    expect(geminiProvider.toError(status, body)).toEqual(info);
  });
});
