import { describe, expect, test } from 'vitest';
import { compile, EMAIL, meta, OPENAI_KEY, README_EXAMPLE } from './fixtures.test-helper.ts';
import { evaluateRequest } from './evaluate.ts';
import { Placeholders } from './redact.ts';
import { evaluateResponse, redactText } from './response.ts';
import { createStreamFilters } from './stream-filter.ts';

const ctx = { endpoint: 'chat', model: 'gpt-4o', meta } as const;

describe('evaluateResponse', () => {
  test('redacts the answer text and the same text in the body, consistently', () => {
    const set = compile(README_EXAMPLE);
    const text = `Write to ${EMAIL} (again: ${EMAIL})`;
    const body = { id: 'chatcmpl-1', model: 'gpt-4o', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }] };
    const d = evaluateResponse(set, { ...ctx, text, body });
    expect(d).toEqual({
      kind: 'modify',
      text: 'Write to [EMAIL_1] (again: [EMAIL_1])',
      body: { ...body, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Write to [EMAIL_1] (again: [EMAIL_1])' } }] },
      matches: [{ policy: 'redact-secrets', rule: 'detect', action: 'redact', mode: 'enforce', detector: 'email', count: 2, applied: true }],
      stored: 'keep',
    });
    expect(body.choices[0]?.message.content).toBe(text);
  });

  test("numbers the answer's placeholders on from the request's when the call's are passed", () => {
    const set = compile(README_EXAMPLE);
    const placeholders = new Placeholders();
    const req = evaluateRequest(set, { ...ctx, body: { model: 'gpt-4o', messages: [{ role: 'user', content: `ask ${EMAIL}` }] }, placeholders });
    expect(JSON.stringify(req)).toContain('ask [EMAIL_1]');
    const text = `[EMAIL_1] said ${EMAIL} and ${'bob@example.org'}`;
    expect(evaluateResponse(set, { ...ctx, text, placeholders })).toMatchObject({ text: '[EMAIL_1] said [EMAIL_1] and [EMAIL_2]' });
    const filters = createStreamFilters(set, ctx, placeholders);
    const f = filters!.text(0);
    expect(f.push('cc carol@example.net ') + f.end()).toBe('cc [EMAIL_3] ');
    // without them, each stage starts again at 1
    expect(evaluateResponse(set, { ...ctx, text: 'bob@example.org' })).toMatchObject({ text: '[EMAIL_1]' });
  });

  test('redacts Anthropic content blocks', () => {
    const set = compile(README_EXAMPLE);
    const body = { type: 'message', role: 'assistant', content: [{ type: 'text', text: OPENAI_KEY }] };
    expect(evaluateResponse(set, { ...ctx, endpoint: 'messages', text: OPENAI_KEY, body })).toMatchObject({
      kind: 'modify',
      text: '[API_KEY_1]',
      body: { content: [{ type: 'text', text: '[API_KEY_1]' }] },
    });
  });

  test('denies an answer with a deny-class secret, naming the policy and not the secret', () => {
    const set = compile([{ name: 'no-key-leaks', detect: ['api_key', 'private_key'], action: 'deny', stage: 'post' }]);
    const d = evaluateResponse(set, { ...ctx, text: `here: ${OPENAI_KEY}` });
    expect(d).toMatchObject({ kind: 'deny', policy: 'no-key-leaks', status: 403, reason: 'denied by policy "no-key-leaks": content matched api_key' });
    expect(JSON.stringify(d)).not.toContain(OPENAI_KEY);
  });

  test.each([
    ['a pre-only policy', { name: 'p', detect: ['email'], action: 'deny', stage: 'pre' }],
    ['a request rule policy', { name: 'p', deny_models: ['gpt-4o'], action: 'deny' }],
    ['a shadow policy', { name: 'p', detect: ['email'], action: 'deny', mode: 'shadow' }],
  ] as const)('%s does not change the answer', (_title, policy) => {
    const d = evaluateResponse(compile([policy]), { ...ctx, text: EMAIL });
    expect(d.kind).toBe('allow');
  });

  test('flags keyword hits without changing the answer', () => {
    const set = compile([{ name: 'codename', keywords: ['Project Falcon'], action: 'flag' }]);
    const d = evaluateResponse(set, { ...ctx, text: 'About project falcon: project falcons are birds.' });
    expect(d).toEqual({
      kind: 'allow',
      stored: 'keep',
      matches: [{ policy: 'codename', rule: 'keywords', action: 'flag', mode: 'enforce', detector: 'keyword', count: 1, applied: true }],
    });
  });
});

describe('evaluateResponse on a JSON answer (JSON mode, tool-call arguments)', () => {
  test('denies a key that follows an escape', () => {
    const set = compile([{ name: 'no-keys', detect: ['api_key'], action: 'deny', stage: 'post' }]);
    const text = JSON.stringify({ note: `a\n${OPENAI_KEY}` });
    expect(evaluateResponse(set, { ...ctx, text })).toMatchObject({ kind: 'deny', policy: 'no-keys' });
  });

  test('redacts a card after \\t and an e-mail after \\n, in the text and the body, keeping both valid JSON', () => {
    const set = compile([{ name: 'mask', detect: ['email', 'credit_card'], action: 'redact', stage: 'post' }]);
    const text = JSON.stringify({ card: '\t4111111111111111', to: `x\n${EMAIL}` });
    const body = { choices: [{ index: 0, message: { role: 'assistant', content: text } }] };
    const d = evaluateResponse(set, { ...ctx, text, body });
    if (d.kind !== 'modify') throw new Error(`expected modify, got ${d.kind}`);
    const expected = { card: '\t[CREDIT_CARD_1]', to: 'x\n[EMAIL_1]' };
    expect(JSON.parse(d.text)).toEqual(expected);
    expect(JSON.parse((d.body as typeof body).choices[0]!.message.content)).toEqual(expected);
  });
});

describe('redactText (stored bodies)', () => {
  const set = compile([{ name: 'refs', patterns: [{ regex: 'TICKET-\\d{4}', name: 'ticket' }], action: 'flag' }]);

  test('uses every built-in class plus enforced patterns', () => {
    expect(redactText(set, `${EMAIL} card 4111 1111 1111 1111 TICKET-1234 ${EMAIL}`)).toBe(
      '[EMAIL_1] card [CREDIT_CARD_1] [TICKET_1] [EMAIL_1]',
    );
  });

  test('keeps JSON text valid when a match follows an escape sequence', () => {
    const json = JSON.stringify({ messages: [{ role: 'user', content: `line\n${EMAIL}\t${OPENAI_KEY}\\${EMAIL}\n4111111111111111` }] });
    const out = redactText(set, json);
    expect(JSON.parse(out)).toEqual({ messages: [{ role: 'user', content: 'line\n[EMAIL_1]\t[API_KEY_1]\\[EMAIL_1]\n[CREDIT_CARD_1]' }] });
  });

  test('finds secrets behind doubled escapes (tool-call arguments inside a stored body), both levels staying valid JSON', () => {
    const args = JSON.stringify({ path: '.env', content: `# env\n${OPENAI_KEY}\n${EMAIL}` });
    const stored = JSON.stringify({ messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'write_file', arguments: args } }] }] });
    const out = JSON.parse(redactText(set, stored)) as { messages: Array<{ tool_calls: Array<{ function: { arguments: string } }> }> };
    expect(JSON.parse(out.messages[0]!.tool_calls[0]!.function.arguments)).toEqual({ path: '.env', content: '# env\n[API_KEY_1]\n[EMAIL_1]' });
  });

  test('a custom pattern matching an escape letter behind doubled escapes keeps both levels valid JSON', () => {
    const handles = compile([{ name: 'handles', patterns: [{ regex: '[a-z]+#\\d{4}', name: 'handle' }], action: 'flag' }]);
    const stored = JSON.stringify({ arguments: JSON.stringify({ to: 'x\njohn#1234' }) });
    const out = JSON.parse(redactText(handles, stored)) as { arguments: string };
    expect(JSON.parse(out.arguments)).toEqual({ to: 'x\n[HANDLE_1]' });
  });
});
