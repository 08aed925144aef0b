import { parsePolicies, type CompiledPolicySet } from '@watchllm/policies';
import { describe, expect, test } from 'vitest';
import { createExchange, type Exchange } from '../exchange.ts';
import { streamGuard, withoutLogprobs } from './policies.ts';

function compiled(list: unknown[]): CompiledPolicySet {
  const r = parsePolicies(list);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.policies;
}

function exchange(): Exchange {
  const x = createExchange({ id: 'r1', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/v1/chat/completions', ip: null, userAgent: null, now: 0, t0: 0 });
  x.request.model = 'gpt-4o';
  return x;
}

const SECRET = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';

describe('streamGuard', () => {
  test('is null when no post-response policy selects the call (the stream then passes as raw bytes)', () => {
    const other = compiled([{ name: 'acme-only', match: { project: 'acme' }, detect: ['email'], action: 'redact', stage: 'post' }]);
    expect(streamGuard(exchange(), other)).toBeNull();
    const acme = exchange();
    acme.auth.project = 'acme';
    expect(streamGuard(acme, other)).not.toBeNull();
    // a shadow rule watches too (what it finds is recorded)
    expect(streamGuard(exchange(), compiled([{ name: 'watch', detect: ['email'], action: 'flag', stage: 'post' }]))).not.toBeNull();
  });

  test('scans each text apart: a key in choice 0 interleaved with choice 1 is seen whole and cut', () => {
    const guard = streamGuard(exchange(), compiled([{ name: 'no-keys', detect: ['api_key'], action: 'deny', stage: 'post' }]))!;
    const a = `key: ${SECRET} `;
    const b = 'I cannot share that.';
    let cut: string | null = null;
    for (let i = 0; i < a.length && cut === null; i++) {
      guard.push(a[i]!, 0);
      if (i < b.length) guard.push(b[i]!, 8);
      cut = guard.check();
    }
    expect(cut).toContain('no-keys');
  });

  test('a streamed redaction is recorded as redacted, in the answer and in reasoning alike; a shadow one as flagged', () => {
    const set = compiled([{ name: 'mask', detect: ['email'], action: 'redact', stage: 'post' }]);
    for (const key of [0, 1]) {
      const x = exchange();
      const g = streamGuard(x, set)!;
      g.push('mail jane@example.com now', key);
      g.finish();
      expect(x.policies).toMatchObject({ outcome: 'redacted', matches: [{ policy: 'mask', applied: true, count: 1 }] });
    }
    const shadow = exchange();
    const s = streamGuard(shadow, compiled([{ name: 'mask', detect: ['email'], action: 'redact', stage: 'post', mode: 'shadow' }]))!;
    s.push('mail jane@example.com now', 0);
    s.finish();
    expect(shadow.policies).toMatchObject({ outcome: 'flagged', matches: [{ policy: 'mask', applied: false, count: 1 }] });
  });
});

describe('withoutLogprobs', () => {
  test('chat choices get logprobs: null, Responses output_text parts an empty list; the input is not mutated', () => {
    const chat = { choices: [{ index: 0, message: { content: 'a' }, logprobs: { content: [{ token: 'jane' }] } }] };
    expect(withoutLogprobs(chat)).toEqual({ choices: [{ index: 0, message: { content: 'a' }, logprobs: null }] });
    expect(chat.choices[0]!.logprobs).not.toBeNull();
    const responses = { output: [{ type: 'message', content: [{ type: 'output_text', text: 'a', logprobs: [{ token: 'jane' }] }] }] };
    expect(withoutLogprobs(responses)).toEqual({ output: [{ type: 'message', content: [{ type: 'output_text', text: 'a', logprobs: [] }] }] });
    const none = { choices: [{ index: 0, message: { content: 'a' }, logprobs: null }] };
    expect(withoutLogprobs(none)).toBe(none);
  });
});
