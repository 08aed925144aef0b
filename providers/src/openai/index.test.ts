import { describe, expect, test } from 'vitest';
import { openaiErrorToInfo, openaiStyleProvider } from './index.ts';
import type { ProviderRequest, StoredResponseAction } from '../types.ts';

describe('openaiStyleProvider.buildRequest: stored responses', () => {
  const groq = openaiStyleProvider('groq');
  const stored = (action: StoredResponseAction, id = 'resp_abc', query?: string): ProviderRequest => ({
    endpoint: 'responses',
    body: {},
    model: '',
    stream: false,
    apiKey: 'sk-1',
    passHeaders: { 'openai-project': 'proj_1', 'anthropic-version': 'x' },
    stored: { id, action },
    ...(query === undefined ? {} : { query }),
  });
  const target = { baseUrl: 'https://api.example.com/v1/', headers: { 'x-static': 's' } };

  test.each([
    ['retrieve', 'GET', '/responses/resp_abc'],
    ['delete', 'DELETE', '/responses/resp_abc'],
    ['cancel', 'POST', '/responses/resp_abc/cancel'],
    ['input_items', 'GET', '/responses/resp_abc/input_items'],
  ] as const)('%s is %s %s, with the key and the OpenAI headers, without a body or a content-type', (action, method, path) => {
    expect(groq.buildRequest(stored(action), target)).toEqual({
      url: `https://api.example.com/v1${path}`,
      method,
      headers: { 'x-static': 's', authorization: 'Bearer sk-1', 'openai-project': 'proj_1' },
    });
  });

  test("the client's query string passes as it came; the id cannot leave its path segment", () => {
    const up = groq.buildRequest(stored('input_items', 'a/../b?c', 'after=msg_1&limit=2&order=asc'), target);
    expect(up.url).toBe('https://api.example.com/v1/responses/a%2F..%2Fb%3Fc/input_items?after=msg_1&limit=2&order=asc');
  });

  test('a new response is still a POST of the body', () => {
    const up = groq.buildRequest({ ...stored('retrieve'), stored: undefined, body: { model: 'm', input: 'hi' } }, target);
    expect(up).toMatchObject({ url: 'https://api.example.com/v1/responses', method: 'POST', body: '{"model":"m","input":"hi"}' });
  });
});

describe('openaiErrorToInfo', () => {
  test.each([
    // OpenAI's own shape
    [
      400,
      { error: { message: 'Invalid model', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } },
      { message: 'Invalid model', type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
    ],
    [500, { error: 'boom' }, { message: 'boom', type: 'api_error', code: null }],
    // vLLM: {"object":"error","message":...}
    [
      404,
      { object: 'error', message: 'The model `x` does not exist.', type: 'NotFoundError', param: null, code: 404 },
      { message: 'The model `x` does not exist.', type: 'not_found_error', code: null },
    ],
    // Mistral's 422: the message is an object holding FastAPI's detail
    [
      422,
      {
        object: 'error',
        message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted', input: { include_usage: true } }] },
        type: 'invalid_request_message_error',
        param: null,
        code: null,
      },
      { message: 'body.stream_options: Extra inputs are not permitted', type: 'invalid_request_error', code: null },
    ],
    // a message object without detail: its JSON
    [400, { message: { reason: 'bad' } }, { message: '{"reason":"bad"}', type: 'invalid_request_error', code: null }],
    // FastAPI
    [404, { detail: 'Not Found' }, { message: 'Not Found', type: 'not_found_error', code: null }],
    [
      422,
      { detail: [{ loc: ['body', 'messages'], msg: 'Field required', type: 'missing' }, { loc: ['body', 'model'], msg: 'Input should be a valid string' }] },
      { message: 'body.messages: Field required; body.model: Input should be a valid string', type: 'invalid_request_error', code: null },
    ],
    // Azure's gateway
    [401, { statusCode: 401, message: 'Access denied.' }, { message: 'Access denied.', type: 'authentication_error', code: null }],
    // nothing to read
    [500, null, { message: 'Upstream error (HTTP 500)', type: 'api_error', code: null }],
    [400, ['oops'], { message: 'Upstream error (HTTP 400): ["oops"]', type: 'invalid_request_error', code: null }],
    [502, 'Bad Gateway', { message: 'Upstream error (HTTP 502): Bad Gateway', type: 'api_error', code: null }],
  ] as const)('HTTP %i %j', (status, body, info) => {
    expect(openaiErrorToInfo(status, body)).toEqual(info);
  });

  test('a long message is bounded', () => {
    const info = openaiErrorToInfo(422, { detail: 'x'.repeat(5000) });
    expect(info.message.length).toBeLessThanOrEqual(1001);
  });
});

describe('openaiStyleProvider.buildRequest: media endpoints', () => {
  const openai = openaiStyleProvider('openai', 'openai');
  const target = { baseUrl: 'https://api.openai.com/v1' };
  const base = { stream: false, apiKey: 'sk-1', passHeaders: {} };

  test.each([
    ['moderations', '/moderations'],
    ['images', '/images/generations'],
    ['speech', '/audio/speech'],
  ] as const)('%s posts JSON to %s', (endpoint, path) => {
    const up = openai.buildRequest({ ...base, endpoint, body: { input: 'x' }, model: '' }, target);
    expect(up).toMatchObject({ url: `https://api.openai.com/v1${path}`, method: 'POST', headers: { 'content-type': 'application/json' } });
  });

  test.each([
    ['transcriptions', '/audio/transcriptions'],
    ['translations', '/audio/translations'],
  ] as const)('a %s form goes to %s as its bytes, boundary and all', (endpoint, path) => {
    const bytes = new Uint8Array([0, 255, 13, 10]);
    const form = { bytes, contentType: 'multipart/form-data; boundary=abc' };
    const up = openai.buildRequest({ ...base, endpoint, body: { model: 'whisper-1' }, model: 'whisper-1', form }, target);
    expect(up).toEqual({ url: `https://api.openai.com/v1${path}`, method: 'POST', headers: { authorization: 'Bearer sk-1', 'content-type': 'multipart/form-data; boundary=abc' }, bytes });
  });

  test('a form naming the model otherwise than it is routed (a prefix, an alias) is refused, naming the model to send', () => {
    const form = { bytes: new Uint8Array(), contentType: 'multipart/form-data; boundary=abc' };
    expect(() => openai.buildRequest({ ...base, endpoint: 'transcriptions', body: { model: 'openai/whisper-1' }, model: 'whisper-1', form }, target)).toThrow(
      expect.objectContaining({ name: 'TranslationError', param: 'model', message: expect.stringContaining("send model 'whisper-1'") }),
    );
  });
});
