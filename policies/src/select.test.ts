import { describe, expect, test } from 'vitest';
import { compile, meta } from './fixtures.test-helper.ts';
import { answerPolicyTag, selects } from './select.ts';
import { evaluateRequest } from './evaluate.ts';

const ctx = (user: string | null) => ({ endpoint: 'chat', model: 'gpt-4o', meta: { ...meta, user } }) as const;

describe('answerPolicyTag', () => {
  const set = compile([
    { name: 'mask-alice', match: { user: ['alice'] }, detect: ['email'], action: 'redact', stage: 'post' },
    { name: 'watch', detect: ['email'], action: 'flag' },
    { name: 'trial', detect: ['phone'], action: 'deny', mode: 'shadow' },
    { name: 'prompt-only', detect: ['api_key'], action: 'redact', stage: 'pre' },
  ]);

  test('names only the enforced redact and deny policies that treat this call\'s answer', () => {
    expect(answerPolicyTag(set, ctx('bob'))).toBe('');
    const alice = answerPolicyTag(set, ctx('alice'));
    expect(alice).toContain('mask-alice');
    expect(alice).not.toContain('watch');
    expect(alice).not.toContain('trial');
    expect(alice).not.toContain('prompt-only');
  });

  test('changes when the policy changes, so a reload never serves answers checked under the old rules', () => {
    const changed = compile([{ name: 'mask-alice', match: { user: ['alice'] }, detect: ['email', 'phone'], action: 'redact', stage: 'post' }]);
    expect(answerPolicyTag(changed, ctx('alice'))).not.toBe(answerPolicyTag(set, ctx('alice')));
  });
});

describe('property names are case-insensitive (they come from HTTP header names, recorded lowercased)', () => {
  // `x-watchllm-property-CostCenter: cc-7` arrives as `costcenter`
  const call = { endpoint: 'chat', model: 'gpt-4o', meta: { ...meta, properties: { costcenter: 'cc-7' } } } as const;

  test('match.properties written with capitals selects the call', () => {
    const [p] = compile([{ name: 'cc', match: { properties: { CostCenter: 'cc-*' } }, detect: ['email'], action: 'flag' }]).policies;
    expect(selects(p!, call)).toBe(true);
  });

  test('require_metadata with a capitalised property is satisfied by the header', () => {
    const set = compile([{ name: 'need-cc', require_metadata: ['property:CostCenter'], action: 'deny' }]);
    expect(evaluateRequest(set, { ...call, body: { model: 'gpt-4o' } }).kind).toBe('allow');
    const missing = { ...call, meta: { ...meta, properties: {} }, body: { model: 'gpt-4o' } };
    expect(evaluateRequest(set, missing)).toMatchObject({ kind: 'deny', reason: expect.stringContaining('x-watchllm-property-costcenter') });
  });
});
