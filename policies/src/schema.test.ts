import { describe, expect, test } from 'vitest';
import { README_EXAMPLE } from './fixtures.test-helper.ts';
import { parsePolicies } from './schema.ts';

function issuesOf(value: unknown) {
  const r = parsePolicies(value);
  if (r.ok) throw new Error('expected the policies to be rejected');
  return r.issues;
}

describe('parsePolicies', () => {
  test('the README example parses into two enforced policies in file order', () => {
    const r = parsePolicies(README_EXAMPLE);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const [redact, models] = r.policies.policies;
    expect(redact).toMatchObject({ name: 'redact-secrets', mode: 'enforce', action: 'redact', pre: true, post: true });
    expect([...new Set(redact?.content.map((c) => c.detector.id))]).toEqual(['email', 'api_key']);
    expect(models).toMatchObject({ name: 'allowed-models', mode: 'enforce', action: 'deny', pre: true, post: false });
    expect(models?.denyModels?.[0]?.test('gpt-4.5-preview')).toBe(true);
  });

  test('accepts the bare list as well as a document with a policies key', () => {
    expect(parsePolicies(README_EXAMPLE.policies).ok).toBe(true);
    expect(parsePolicies({ policies: null })).toMatchObject({ ok: true, policies: { policies: [] } });
  });

  test('a selector with one value or a list means the same', () => {
    const r = parsePolicies([
      { name: 'a', match: { project: 'hr', endpoint: ['chat', 'responses'], properties: { team: 'x*' } }, action: 'flag' },
    ]);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.policies.policies[0]?.config.match).toEqual({
      project: ['hr'],
      endpoint: ['chat', 'responses'],
      properties: { team: ['x*'] },
    });
  });

  test.each([
    ['an unknown detector', [{ name: 'a', detect: ['emails'], action: 'redact' }], [0, 'detect', 0]],
    ['an unknown action', [{ name: 'a', detect: ['email'], action: 'block' }], [0, 'action']],
    ['a misspelt field', [{ name: 'a', deny_model: ['x'], action: 'deny' }], [0, 'deny_model']],
    ['an unknown endpoint', [{ name: 'a', match: { endpoint: 'chat/completions' }, action: 'flag' }], [0, 'match', 'endpoint']],
    ['rules without an action', [{ name: 'a', deny_models: ['x'] }], [0, 'action']],
    ['redact on a request rule', [{ name: 'a', detect: ['email'], max_messages: 3, action: 'redact' }], [0, 'max_messages']],
    ['rewrite on content', [{ name: 'a', keywords: ['x'], action: 'rewrite' }], [0, 'keywords']],
    ['rewrite of a model rule without set_model', [{ name: 'a', deny_models: ['x'], action: 'rewrite' }], [0, 'rewrite', 'set_model']],
    ['status on a non-deny policy', [{ name: 'a', detect: ['email'], action: 'flag', status: 400 }], [0, 'status']],
    ['a request rule at stage post', [{ name: 'a', detect: ['email'], max_tokens: 9, action: 'deny', stage: 'post' }], [0, 'max_tokens']],
    ['a non-positive cap', [{ name: 'a', max_tokens: 0, action: 'deny' }], [0, 'max_tokens']],
    ['a bad metadata name', [{ name: 'a', require_metadata: ['team'], action: 'deny' }], [0, 'require_metadata', 0]],
    ['a policy that does nothing', [{ name: 'a' }], [0]],
    ['duplicate names', [{ name: 'a', action: 'flag' }, { name: 'a', action: 'flag' }], [1, 'name']],
    ['a sticky regex flag', [{ name: 'a', patterns: [{ regex: 'x', flags: 'y' }], action: 'flag' }], [0, 'patterns', 0, 'flags']],
  ] as const)('rejects %s with its path', (_title, value, path) => {
    const issues = issuesOf(value);
    expect(issues.map((i) => i.path)).toContainEqual(path);
    expect(issues.every((i) => i.message.length > 0)).toBe(true);
  });

  test('paths start with policies when a whole document is given', () => {
    expect(issuesOf({ policies: [{ name: 'a', detect: ['emails'], action: 'redact' }] })[0]?.path).toEqual([
      'policies', 0, 'detect', 0,
    ]);
  });

  test('an invalid user regex is rejected at load with the policy name and its path', () => {
    const issues = issuesOf([
      { name: 'ok', detect: ['email'], action: 'flag' },
      { name: 'broken', patterns: ['ok+', { regex: 'a(b', name: 'ref' }], action: 'deny' },
    ]);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual([1, 'patterns', 1, 'regex']);
    expect(issues[0]?.message).toMatch(/^policy "broken": invalid regular expression \/a\(b\//);
  });

  test('a regex that matches the empty string is rejected', () => {
    const issues = issuesOf([{ name: 'loose', patterns: ['x*'], action: 'flag' }]);
    expect(issues).toEqual([{ path: [0, 'patterns', 0], message: 'policy "loose": regular expression /x*/ matches the empty string' }]);
  });
});
