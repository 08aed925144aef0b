import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { createExchange, type Exchange } from '../exchange.ts';
import { compileFallbacks, contextTooLong, fallbackChain, fallsBackOnError, fallsBackOnStatus } from './fallback.ts';

const config = parseConfig(
  ['fallbacks:', '  gpt-4o: [claude-sonnet-4-5, gpt-4o, GPT-4o-mini, gpt-4o-mini]', '  "claude-*": [gpt-4o]'].join('\n'),
  {},
);
const compiled = compileFallbacks(config);

function call(model: string | null, endpoint: Exchange['endpoint'] = 'chat'): Exchange {
  const x = createExchange({ id: 'id', surface: 'openai', endpoint, method: 'POST', path: '/v1/chat/completions', ip: null, userAgent: null, now: 0, t0: 0 });
  x.request.model = model;
  return x;
}

describe('fallbackChain', () => {
  test('the config entry for the model as the client named it (globs too), without the model itself or repeats', () => {
    expect(fallbackChain(call('gpt-4o'), {}, compiled)).toEqual(['claude-sonnet-4-5', 'GPT-4o-mini']);
    expect(fallbackChain(call('Claude-Haiku-4-5'), {}, compiled)).toEqual(['gpt-4o']);
    expect(fallbackChain(call('gemini-2.5-pro'), {}, compiled)).toEqual([]);
  });

  test('the header replaces the config for one call; `none` turns it off', () => {
    expect(fallbackChain(call('gpt-4o'), { 'x-watchllm-fallbacks': ' mistral-large-latest , ,groq/llama-3.1-8b-instant' }, compiled)).toEqual([
      'mistral-large-latest',
      'groq/llama-3.1-8b-instant',
    ]);
    expect(fallbackChain(call('gpt-4o'), { 'x-watchllm-fallbacks': 'None' }, compiled)).toEqual([]);
  });

  test('more than five models, or a name longer than 256 characters, is a 400 naming the header', () => {
    for (const header of ['a,b,c,d,e,f', 'x'.repeat(257)]) {
      const e = (() => {
        try {
          fallbackChain(call('gpt-4o'), { 'x-watchllm-fallbacks': header }, compiled);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(e).toBeInstanceOf(GatewayError);
      expect(e).toMatchObject({ status: 400, param: 'x-watchllm-fallbacks' });
    }
  });

  test('listing models and counting tokens never fall back', () => {
    expect(fallbackChain(call(null, 'models'), {}, compiled)).toEqual([]);
    expect(fallbackChain(call('claude-sonnet-4-5', 'count_tokens'), {}, compiled)).toEqual([]);
  });
});

describe('which failures fall back', () => {
  test('rate limited, failing and overloaded providers do; errors about the request do not', () => {
    expect([429, 500, 502, 503, 504, 529].every(fallsBackOnStatus)).toBe(true);
    expect([400, 401, 403, 404, 408, 409, 413, 422].some(fallsBackOnStatus)).toBe(false);
  });

  test('an unreachable or timed-out provider does; a refusal of the gateway itself does not', () => {
    const err = (outcome: 'upstream_unreachable' | 'timeout' | 'invalid') => new GatewayError({ status: 502, type: 'api_error', message: 'x', outcome });
    expect(fallsBackOnError(err('upstream_unreachable'))).toBe(true);
    expect(fallsBackOnError(err('timeout'))).toBe(true);
    expect(fallsBackOnError(err('invalid'))).toBe(false);
    expect(fallsBackOnError(new Error('boom'))).toBe(false);
  });
});

describe('fallbacks in watchllm.yaml', () => {
  test('one model may be written without brackets; more than five is an error at its line', () => {
    const one = compileFallbacks(parseConfig('fallbacks:\n  gpt-4o: claude-sonnet-4-5\n', {}));
    expect(fallbackChain(call('gpt-4o'), {}, one)).toEqual(['claude-sonnet-4-5']);
    expect(() => parseConfig('fallbacks:\n  gpt-4o: [a, b, c, d, e, f]\n', {})).toThrow(/watchllm\.yaml:2:11: fallbacks\.gpt-4o: .*<=5 items/);
  });
});

describe('fallbackChain and the routed name', () => {
  test('a config chain applies to the model as routed too, and never repeats it under another name', () => {
    const x = call('openai/gpt-4o');
    x.route = { provider: 'openai', model: 'gpt-4o' };
    expect(fallbackChain(x, {}, compiled)).toEqual(['claude-sonnet-4-5', 'GPT-4o-mini']);
    const y = call('gpt-4o');
    y.route = { provider: 'openai', model: 'gpt-4o' };
    expect(fallbackChain(y, { 'x-watchllm-fallbacks': 'openai/gpt-4o, gpt-4o-mini' }, compiled)).toEqual(['gpt-4o-mini']);
  });

  test('an empty header is no header: the config chain holds', () => {
    expect(fallbackChain(call('gpt-4o'), { 'x-watchllm-fallbacks': ' , ' }, compiled)).toEqual(['claude-sonnet-4-5', 'GPT-4o-mini']);
  });
});

describe('contextTooLong', () => {
  test("each provider's way of saying the prompt does not fit the model's window; other 400s are not", () => {
    expect(contextTooLong(400, { code: 'context_length_exceeded', message: "This model's maximum context length is 128000 tokens." })).toBe(true);
    expect(contextTooLong(400, { code: null, message: 'prompt is too long: 250000 tokens > 200000 maximum' })).toBe(true);
    expect(contextTooLong(400, { code: 'INVALID_ARGUMENT', message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).' })).toBe(true);
    expect(contextTooLong(400, { code: 'invalid_value', message: "Invalid value for 'temperature'." })).toBe(false);
    expect(contextTooLong(413, { code: 'context_length_exceeded', message: '' })).toBe(false);
  });
});
