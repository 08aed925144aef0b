import { describe, expect, test } from 'vitest';
import { evaluateRequest } from './evaluate.ts';
import { compile, meta } from './fixtures.test-helper.ts';
import type { CallMeta, RequestInput } from './types.ts';

const call = (body: Record<string, unknown>, m: CallMeta = meta, endpoint: RequestInput['endpoint'] = 'chat'): RequestInput => ({
  endpoint,
  model: typeof body.model === 'string' ? body.model : 'gpt-4o',
  meta: m,
  body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body },
});

describe('request rules that deny', () => {
  test.each([
    ['a model outside allow_models (403)', { allow_models: ['gpt-4o*', 'claude-*'] }, { model: 'o1-pro' }, 403,
      'model "o1-pro" is not in the allowed models'],
    ['max_completion_tokens over the cap (400)', { max_tokens: 1000 }, { max_completion_tokens: 4000 }, 400,
      'max_completion_tokens 4000 exceeds the limit of 1000'],
    ['too many messages (400)', { max_messages: 2 }, { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }] }, 400,
      '3 messages exceed the limit of 2'],
    ['a prompt over max_prompt_chars (400)', { max_prompt_chars: 10 }, { messages: [{ role: 'user', content: 'x'.repeat(11) }] }, 400,
      'a prompt of 11 characters exceeds the limit of 10'],
    ['forbidden parameters (400)', { forbid_params: ['tools', 'logit_bias'] }, { tools: [], logit_bias: { 1: 2 } }, 400,
      'parameters not allowed: tools, logit_bias'],
  ] as const)('denies %s', (_title, rule, body, status, detail) => {
    const set = compile([{ name: 'p', action: 'deny', ...rule }]);
    expect(evaluateRequest(set, call(body))).toMatchObject({ kind: 'deny', policy: 'p', status, reason: `denied by policy "p": ${detail}` });
  });

  test('require_metadata names the missing header', () => {
    const set = compile([{ name: 'need-user', require_metadata: ['user', 'property:team'], action: 'deny' }]);
    expect(evaluateRequest(set, call({}, { ...meta, user: null, properties: {} }))).toMatchObject({
      kind: 'deny',
      status: 400,
      reason: 'denied by policy "need-user": missing required metadata: user (x-watchllm-user), property:team (x-watchllm-property-team)',
    });
    expect(evaluateRequest(set, call({})).kind).toBe('allow');
  });

  test('status can be overridden', () => {
    const set = compile([{ name: 'p', max_messages: 1, action: 'deny', status: 403 }]);
    expect(evaluateRequest(set, call({ messages: [1, 2] }))).toMatchObject({ status: 403 });
  });

  test('a policy without rules denies every call it selects', () => {
    const set = compile([{ name: 'frozen', match: { project: 'legacy-*' }, action: 'deny' }]);
    expect(evaluateRequest(set, call({}, { ...meta, project: 'legacy-app' }))).toMatchObject({ kind: 'deny', status: 403 });
    expect(evaluateRequest(set, call({})).kind).toBe('allow');
  });
});

describe('rewrites', () => {
  test('clamps every token field over the cap and leaves the input alone', () => {
    const set = compile([{ name: 'cap', max_tokens: 512, action: 'rewrite' }]);
    const input = call({ max_tokens: 4096, max_completion_tokens: 100 });
    const d = evaluateRequest(set, input);
    expect(d).toMatchObject({ kind: 'modify', body: { max_tokens: 512, max_completion_tokens: 100 } });
    expect(input.body.max_tokens).toBe(4096);
    expect(d.matches).toEqual([{ policy: 'cap', rule: 'max_tokens', action: 'rewrite', mode: 'enforce', count: 1, applied: true }]);
  });

  test('strips forbidden parameters', () => {
    const set = compile([{ name: 'no-tools', forbid_params: ['tools'], action: 'rewrite' }]);
    const d = evaluateRequest(set, call({ tools: [{ type: 'function' }] }));
    expect(d.kind === 'modify' && 'tools' in d.body).toBe(false);
  });

  test('forces a model, and later policies judge the new model', () => {
    const set = compile([
      { name: 'downgrade', deny_models: ['gpt-4.5*'], action: 'rewrite', rewrite: { set_model: 'gpt-4o' } },
      { name: 'no-4o', match: { model: 'gpt-4o' }, max_tokens: 10, action: 'deny' },
    ]);
    expect(evaluateRequest(set, call({ model: 'gpt-4.5-preview' }))).toMatchObject({ kind: 'modify', body: { model: 'gpt-4o' } });
    expect(evaluateRequest(set, call({ model: 'gpt-4.5-preview', max_tokens: 50 }))).toMatchObject({ kind: 'deny', policy: 'no-4o' });
  });

  test('a shadow rewrite changes nothing', () => {
    const set = compile([{ name: 'cap', mode: 'shadow', max_tokens: 5, action: 'rewrite' }]);
    expect(evaluateRequest(set, call({ max_tokens: 50 }))).toMatchObject({ kind: 'allow', matches: [{ applied: false, mode: 'shadow' }] });
  });
});

describe('selectors', () => {
  test.each([
    ['project glob', { project: 'ac*' }, true],
    ['other project', { project: 'other' }, false],
    ['key id', { key: ['key_9', 'key_1'] }, true],
    ['user', { user: 'u-42' }, true],
    ['endpoint', { endpoint: 'embeddings' }, false],
    ['model', { model: 'gpt-4o*' }, true],
    ['property value', { properties: { team: 'search' } }, true],
    ['property value mismatch', { properties: { team: 'ads' } }, false],
    ['absent property', { properties: { region: '*' } }, false],
    ['all fields together', { project: 'acme', user: 'u-*', endpoint: ['chat'] }, true],
  ] as const)('%s -> applies: %s', (_title, match, applies) => {
    const set = compile([{ name: 'sel', match, action: 'flag', max_messages: 1 }]);
    const d = evaluateRequest(set, call({ messages: [1, 2] }));
    expect(d.matches.length).toBe(applies ? 1 : 0);
  });
});

describe('stored', () => {
  test('the strictest stored mode of the selecting enforced policies wins', () => {
    const set = compile([
      { name: 'keep-all', stored: 'keep' },
      { name: 'hr', match: { project: 'acme' }, stored: 'redact' },
      { name: 'legal', match: { user: 'lawyer-*' }, stored: 'drop' },
      { name: 'trial', mode: 'shadow', stored: 'drop' },
    ]);
    expect(evaluateRequest(set, call({})).stored).toBe('redact');
    expect(evaluateRequest(set, call({}, { ...meta, user: 'lawyer-1' })).stored).toBe('drop');
    expect(evaluateRequest(set, call({}, { ...meta, project: 'x' })).stored).toBe('keep');
  });
});
