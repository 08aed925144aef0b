import { describe, expect, test } from 'vitest';
import { cacheKey, canonicalJson, isCacheable } from './key.ts';

const base = {
  scope: 'project:acme',
  provider: 'openai',
  model: 'gpt-4o-mini',
  endpoint: 'chat/completions',
  body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0 },
};

describe('cacheKey', () => {
  test('is a sha256 hex digest', () => {
    expect(cacheKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('ignores key order at every depth', () => {
    const reordered = { ...base, body: { temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'gpt-4o-mini' } };
    expect(cacheKey(reordered)).toBe(cacheKey(base));
  });

  test.each([
    ['stream', true],
    ['stream_options', { include_usage: true }],
    ['user', 'alice'],
    ['metadata', { run: '7' }],
    ['store', true],
    ['watchllm_tags', ['a']],
  ] as const)('ignores %s, which does not change the answer', (field, value) => {
    expect(cacheKey({ ...base, body: { ...base.body, [field]: value } })).toBe(cacheKey(base));
  });

  test.each([
    ['scope', { scope: 'project:other' }],
    ['provider', { provider: 'azure' }],
    ['model', { model: 'gpt-4o' }],
    ['endpoint', { endpoint: 'completions' }],
    ['a message', { body: { ...base.body, messages: [{ role: 'user', content: 'hi!' }] } }],
    ['max_tokens', { body: { ...base.body, max_tokens: 5 } }],
    ['tools', { body: { ...base.body, tools: [] } }],
  ] as const)('changes with %s (one tenant never reads another tenant\'s answers)', (_, change) => {
    expect(cacheKey({ ...base, ...change })).not.toBe(cacheKey(base));
  });
});

describe('canonicalJson', () => {
  test('sorts keys, keeps array order, drops undefined members', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: undefined, y: null }], a: 'x' })).toBe('{"a":"x","b":[3,{"y":null,"z":1}]}');
  });
});

describe('isCacheable', () => {
  test.each([
    ['no sampling parameters', {}, true],
    ['temperature 0', { temperature: 0 }, true],
    ['n 1', { n: 1 }, true],
    ['explicit temperature > 0', { temperature: 0.7 }, false],
    ['several samples (n > 1)', { n: 3, temperature: 0 }, false],
    ['temperature > 0 with a pinned seed', { temperature: 0.7, seed: 42 }, true],
  ] as const)('%s -> %s', (_, body, expected) => {
    expect(isCacheable(body)).toBe(expected);
  });

  test('configured to, it caches non-deterministic requests too', () => {
    expect(isCacheable({ temperature: 1, n: 2 }, { allowNonDeterministic: true })).toBe(true);
  });

  test('a background Responses call or one in a server-side conversation is never cached, whatever the config', () => {
    for (const allowNonDeterministic of [false, true]) {
      expect(isCacheable({ input: 'hi', background: true }, { allowNonDeterministic })).toBe(false);
      expect(isCacheable({ input: 'hi', conversation: 'conv_1' }, { allowNonDeterministic })).toBe(false);
      expect(isCacheable({ input: 'hi', conversation: { id: 'conv_1' } }, { allowNonDeterministic })).toBe(false);
    }
    expect(isCacheable({ input: 'hi', background: false, previous_response_id: 'resp_1' })).toBe(true);
  });
});
