import type { Endpoint, Surface } from '@watchllm/providers';
import { describe, expect, test } from 'vitest';
import { GatewayError } from '../errors.ts';
import { createExchange } from '../exchange.ts';
import { isStoredResponse, parseModelPath, parseRequest, parseStoredResponse, storedResponseRoute } from './parse.ts';

function refusal(surface: Surface, endpoint: Endpoint, body: unknown): GatewayError {
  const x = createExchange({ id: 'r1', surface, endpoint, method: 'POST', path: '/', ip: null, userAgent: null, now: 0, t0: 0 });
  try {
    parseRequest(x, Buffer.from(JSON.stringify(body)));
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('the body was accepted');
}

const chat = (extra: Record<string, unknown>) => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], ...extra });
const messages = (extra: Record<string, unknown>) => ({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], ...extra });

describe('OpenAI surface: what is wrong, in OpenAI words', () => {
  test.each([
    ['a model that is a number', chat({ model: 5 }), "Invalid type for 'model': expected a string, but got an integer instead.", 'model', 'invalid_type'],
    ['messages that are a string', chat({ messages: 'hi' }), "Invalid type for 'messages': expected an array, but got a string instead.", 'messages', 'invalid_type'],
    ['stream that is a string', chat({ stream: 'yes' }), "Invalid type for 'stream': expected a boolean, but got a string instead.", 'stream', 'invalid_type'],
    ['include_usage that is a number', chat({ stream_options: { include_usage: 1 } }), "Invalid type for 'stream_options.include_usage': expected a boolean, but got an integer instead.", 'stream_options.include_usage', 'invalid_type'],
    ['no messages', { model: 'gpt-4o' }, "Missing required parameter: 'messages'.", 'messages', 'invalid_request'],
    ['no model', { messages: [] }, 'you must provide a model parameter', 'model', 'missing_model'],
    ['an empty model', chat({ model: '' }), 'model must not be empty', 'model', 'missing_model'],
  ] as const)('%s', (_name, body, message, param, code) => {
    expect(refusal('openai', 'chat', body)).toMatchObject({ status: 400, message, param, code });
  });

  test.each(['gemini/gemini-2.5-flash/../models/gemini-2.5-pro', 'azure/..', 'azure/.', '../v1/files', 'a/./b'])(
    "a model with a '.' or '..' segment (%s) is refused: upstream, the URL would resolve it to another path",
    (model) => {
      expect(refusal('openai', 'chat', chat({ model }))).toMatchObject({ status: 400, param: 'model', code: 'invalid_request' });
    },
  );

  test('dots inside a segment are a model like any other', () => {
    const x = createExchange({ id: 'r1', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/', ip: null, userAgent: null, now: 0, t0: 0 });
    parseRequest(x, Buffer.from(JSON.stringify(chat({ model: 'my-vllm/Qwen2.5-7B..Instruct' }))));
    expect(x.request.model).toBe('my-vllm/Qwen2.5-7B..Instruct');
  });

  test('stream: null and include_usage: null are "not set", as OpenAI and its SDKs take them', () => {
    const x = createExchange({ id: 'r1', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/', ip: null, userAgent: null, now: 0, t0: 0 });
    parseRequest(x, Buffer.from(JSON.stringify(chat({ stream: null, stream_options: { include_usage: null } }))));
    expect([x.request.stream, x.request.clientWantsUsage]).toEqual([false, false]);
  });

  test('an embeddings call without input names input', () => {
    expect(refusal('openai', 'embeddings', { model: 'text-embedding-3-small' })).toMatchObject({ message: "Missing required parameter: 'input'.", param: 'input' });
  });
});

describe('Anthropic surface: what is wrong, in Anthropic words', () => {
  test.each([
    ['max_tokens as a string', messages({ max_tokens: '10' }), 'max_tokens: Input should be a valid integer', 'max_tokens', 'invalid_type'],
    ['max_tokens of 0', messages({ max_tokens: 0 }), 'max_tokens: Input should be greater than or equal to 1', 'max_tokens', 'invalid_request'],
    ['max_tokens of -3', messages({ max_tokens: -3 }), 'max_tokens: Input should be greater than or equal to 1', 'max_tokens', 'invalid_request'],
    ['max_tokens of 1.5', messages({ max_tokens: 1.5 }), 'max_tokens: Input should be a valid integer, got a number with a fractional part', 'max_tokens', 'invalid_type'],
    ['no max_tokens', messages({ max_tokens: undefined }), 'max_tokens: Field required', 'max_tokens', 'invalid_request'],
    ['messages that are a string', messages({ messages: 'hi' }), 'messages: Input should be a valid list', 'messages', 'invalid_type'],
    ['a model that is a number', messages({ model: 5 }), 'model: Input should be a valid string', 'model', 'invalid_type'],
    ['no model', messages({ model: undefined }), 'model: Field required', 'model', 'missing_model'],
  ] as const)('%s', (_name, body, message, param, code) => {
    expect(refusal('anthropic', 'messages', body)).toMatchObject({ status: 400, message, param, code });
  });

  test('count_tokens names messages that are not a list', () => {
    expect(refusal('anthropic', 'count_tokens', { model: 'claude-sonnet-4-5', messages: {} })).toMatchObject({ message: 'messages: Input should be a valid list' });
  });
});

describe('what a bad request cannot do', () => {
  const exchange = () => createExchange({ id: 'r', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/v1/chat/completions', ip: null, userAgent: null, now: 0, t0: 0 });

  test("a body that is not JSON: the error says where, never the body's text (it may hold a secret)", () => {
    const x = exchange();
    let err: unknown;
    try {
      parseRequest(x, Buffer.from('jane.doe@example.com is my address, not JSON'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_json');
    expect((err as GatewayError).message).not.toContain('jane');
  });

  test('a model name over 256 characters is refused (model globs must stay fast), and recorded cut', () => {
    const x = exchange();
    const model = 'claude'.repeat(10_000);
    expect(() => parseRequest(x, Buffer.from(JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] })))).toThrow(/at most 256 characters/);
    expect(x.request.model).toHaveLength(256);
    const y = createExchange({ id: 'r', surface: 'openai', endpoint: 'models', method: 'GET', path: `/v1/models/${model}`, ip: null, userAgent: null, now: 0, t0: 0 });
    expect(() => parseModelPath(y)).toThrow(/at most 256 characters/);
  });
});

describe('stored-response routes', () => {
  test.each([
    ['GET', '/v1/responses/resp_1', { rawId: 'resp_1', action: 'retrieve' }],
    ['DELETE', '/v1/responses/resp_1', { rawId: 'resp_1', action: 'delete' }],
    ['POST', '/v1/responses/resp_1/cancel', { rawId: 'resp_1', action: 'cancel' }],
    ['GET', '/v1/responses/resp_1/input_items', { rawId: 'resp_1', action: 'input_items' }],
    ['POST', '/v1/responses', null],
    ['POST', '/v1/responses/resp_1', null],
    ['GET', '/v1/responses/resp_1/cancel', null],
    ['POST', '/v1/responses/input_tokens', null],
    ['GET', '/v1/responses/', null],
    ['GET', '/v1/responses/resp_1/', null],
    ['GET', '/v1/responses/resp_1/input_items/x', null],
  ] as const)('%s %s', (method, path, route) => {
    expect(storedResponseRoute(method, path)).toEqual(route);
  });

  const at = (method: string, path: string) =>
    createExchange({ id: 'r1', surface: 'openai', endpoint: 'responses', method, path, ip: null, userAgent: null, now: 0, t0: 0 });

  test('the id is percent-decoded; the query is not part of it', () => {
    expect(parseStoredResponse(at('GET', '/v1/responses/resp%5F1?include[]=x'))).toEqual({ id: 'resp_1', action: 'retrieve' });
    expect(parseStoredResponse(at('GET', '/v1/responses/resp_1/input_items?after=msg_1&limit=2'))).toEqual({ id: 'resp_1', action: 'input_items' });
    expect(parseStoredResponse(at('POST', '/v1/responses'))).toBeNull();
  });

  test.each([
    ['/v1/responses/%E0%A4%A', /not valid percent-encoding/],
    ['/v1/responses/..', /not a response id/],
    ['/v1/responses/%2E%2E', /not a response id/],
    [`/v1/responses/${'r'.repeat(257)}`, /at most 256 characters/],
    ['/v1/responses/resp_1?stream=true', /not supported by the gateway yet/],
  ])('%s is refused with a 400', (path, message) => {
    const x = at('GET', path);
    expect(() => parseStoredResponse(x)).toThrow(message);
    // the stages that end the call still tell it apart, without throwing
    expect(isStoredResponse(x)).toBe(true);
  });

  test('stream=false retrieves as without it', () => {
    expect(parseStoredResponse(at('GET', '/v1/responses/resp_1?stream=false'))).toEqual({ id: 'resp_1', action: 'retrieve' });
  });
});
