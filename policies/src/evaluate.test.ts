import { describe, expect, test } from 'vitest';
import { evaluateRequest } from './evaluate.ts';
import { compile, EMAIL, meta, OPENAI_KEY, README_EXAMPLE } from './fixtures.test-helper.ts';
import { outcomeOf } from './outcome.ts';
import type { RequestInput } from './types.ts';

const readme = compile(README_EXAMPLE);

const chat = (model: string, ...contents: string[]): RequestInput => ({
  endpoint: 'chat',
  model,
  meta,
  body: { model, messages: contents.map((content, i) => ({ role: i === 0 ? 'system' : 'user', content })) },
});

describe('evaluateRequest with the README example', () => {
  test('redacts an e-mail and an OpenAI key to placeholders consistent within the call', () => {
    const input = chat('gpt-4o', `Support contact: ${EMAIL}.`, `My key is ${OPENAI_KEY}, mail ${EMAIL} or bob@corp.io`);
    const before = structuredClone(input.body);
    const d = evaluateRequest(readme, input);
    expect(d.kind).toBe('modify');
    if (d.kind !== 'modify') return;
    expect(d.body).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Support contact: [EMAIL_1].' },
        { role: 'user', content: 'My key is [API_KEY_1], mail [EMAIL_1] or [EMAIL_2]' },
      ],
    });
    expect(input.body).toEqual(before);
    expect(d.matches).toEqual([
      { policy: 'redact-secrets', rule: 'detect', action: 'redact', mode: 'enforce', detector: 'email', count: 3, applied: true },
      { policy: 'redact-secrets', rule: 'detect', action: 'redact', mode: 'enforce', detector: 'api_key', count: 1, applied: true },
    ]);
    expect(outcomeOf(d)).toBe('redacted');
  });

  test('denies gpt-4.5-preview with 403 and a reason naming the policy but not the secret', () => {
    const d = evaluateRequest(readme, chat('gpt-4.5-preview', `use ${OPENAI_KEY}`));
    expect(d).toMatchObject({ kind: 'deny', policy: 'allowed-models', status: 403 });
    if (d.kind !== 'deny') return;
    expect(d.reason).toBe('denied by policy "allowed-models": model "gpt-4.5-preview" is not allowed');
    expect(JSON.stringify(d)).not.toContain(OPENAI_KEY);
    expect(d.matches).toContainEqual({ policy: 'allowed-models', rule: 'deny_models', action: 'deny', mode: 'enforce', count: 1, applied: true });
    expect(outcomeOf(d)).toBe('denied');
  });

  test('catches a denied model behind a provider prefix', () => {
    expect(evaluateRequest(readme, chat('openai/gpt-4.5-preview', 'hi')).kind).toBe('deny');
  });

  test('allows a clean call and returns the same body untouched', () => {
    const input = chat('gpt-4o', 'hello');
    expect(evaluateRequest(readme, input)).toEqual({ kind: 'allow', matches: [], stored: 'keep' });
  });
});

describe('order, shadow mode and first deny', () => {
  test('shadow policies record what they would have done and change nothing', () => {
    const set = compile([
      { name: 'try-redact', mode: 'shadow', detect: ['email'], action: 'redact' },
      { name: 'try-deny', mode: 'shadow', deny_models: ['gpt-4o'], action: 'deny' },
    ]);
    const d = evaluateRequest(set, chat('gpt-4o', `mail ${EMAIL}`));
    expect(d.kind).toBe('allow');
    expect(d.matches).toEqual([
      { policy: 'try-redact', rule: 'detect', action: 'redact', mode: 'shadow', detector: 'email', count: 1, applied: false },
      { policy: 'try-deny', rule: 'deny_models', action: 'deny', mode: 'shadow', count: 1, applied: false },
    ]);
  });

  test('the first deny wins and later hits are recorded as not applied', () => {
    const set = compile([
      { name: 'no-keys', detect: ['api_key'], action: 'deny' },
      { name: 'no-4o', deny_models: ['gpt-4o'], action: 'deny' },
      { name: 'mask-mail', detect: ['email'], action: 'redact' },
    ]);
    const d = evaluateRequest(set, chat('gpt-4o', `${OPENAI_KEY} ${EMAIL}`));
    expect(d).toMatchObject({ kind: 'deny', policy: 'no-keys', status: 403, reason: 'denied by policy "no-keys": content matched api_key' });
    expect(d.matches.map((m) => [m.policy, m.applied])).toEqual([
      ['no-keys', true],
      ['no-4o', false],
      ['mask-mail', false],
    ]);
  });

  test('a later policy sees the body left by earlier ones (redacted text is not denied again)', () => {
    const set = compile([
      { name: 'mask-mail', detect: ['email'], action: 'redact' },
      { name: 'no-mail', detect: ['email'], action: 'deny' },
    ]);
    expect(evaluateRequest(set, chat('gpt-4o', EMAIL)).kind).toBe('modify');
  });

  test('a deny policy in the file before a redaction still denies', () => {
    const set = compile([
      { name: 'no-mail', detect: ['email'], action: 'deny', message: 'no personal data, please' },
      { name: 'mask-mail', detect: ['email'], action: 'redact' },
    ]);
    expect(evaluateRequest(set, chat('gpt-4o', EMAIL))).toMatchObject({
      kind: 'deny',
      reason: 'denied by policy "no-mail": no personal data, please',
    });
  });
});

describe('every text location is redacted', () => {
  const set = compile([{ name: 'r', detect: ['email', 'api_key'], action: 'redact' }]);
  test.each([
    ['chat text parts', 'chat', { messages: [{ role: 'user', content: [{ type: 'text', text: EMAIL }] }] },
      { messages: [{ role: 'user', content: [{ type: 'text', text: '[EMAIL_1]' }] }] }],
    ['chat tool call arguments and tool results', 'chat',
      { messages: [
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send', arguments: `{"to":"${EMAIL}"}` } }] },
        { role: 'tool', tool_call_id: 'c1', content: `sent to ${EMAIL}` },
      ] },
      { messages: [
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send', arguments: '{"to":"[EMAIL_1]"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'sent to [EMAIL_1]' },
      ] }],
    ['anthropic system, text blocks, tool_use input and tool_result', 'messages',
      { system: [{ type: 'text', text: `key ${OPENAI_KEY}` }], messages: [
        { role: 'user', content: [{ type: 'text', text: EMAIL }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'mail', input: { to: [EMAIL] } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: `ok ${EMAIL}` }] }] },
      ] },
      { system: [{ type: 'text', text: 'key [API_KEY_1]' }], messages: [
        { role: 'user', content: [{ type: 'text', text: '[EMAIL_1]' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'mail', input: { to: ['[EMAIL_1]'] } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'ok [EMAIL_1]' }] }] },
      ] }],
    ['responses instructions and input items', 'responses',
      { instructions: `reply to ${EMAIL}`, input: [{ role: 'user', content: [{ type: 'input_text', text: EMAIL }] }, { type: 'function_call_output', call_id: 'c', output: OPENAI_KEY }] },
      { instructions: 'reply to [EMAIL_1]', input: [{ role: 'user', content: [{ type: 'input_text', text: '[EMAIL_1]' }] }, { type: 'function_call_output', call_id: 'c', output: '[API_KEY_1]' }] }],
    ['completions prompt list', 'completions', { prompt: [EMAIL, 'x'] }, { prompt: ['[EMAIL_1]', 'x'] }],
    ['embeddings input', 'embeddings', { input: `a ${EMAIL}` }, { input: 'a [EMAIL_1]' }],
  ] as const)('%s', (_title, endpoint, body, expected) => {
    const d = evaluateRequest(set, { endpoint, model: 'm', meta, body: { model: 'm', ...body } });
    expect(d).toMatchObject({ kind: 'modify', body: { model: 'm', ...expected } });
  });
});

describe('JSON inside a string (tool-call arguments)', () => {
  const set = compile([{ name: 'r', detect: ['email', 'api_key', 'credit_card', 'ip_address'], action: 'redact' }]);
  const withRawArgs = (args: string): RequestInput => ({
    endpoint: 'chat',
    model: 'm',
    meta,
    body: { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'write_file', arguments: args } }] }] },
  });
  const withArgs = (args: unknown): RequestInput => withRawArgs(JSON.stringify(args));
  const argsOf = (d: ReturnType<typeof evaluateRequest>): unknown => {
    if (d.kind !== 'modify') throw new Error(`expected modify, got ${d.kind}`);
    const msg = (d.body.messages as Array<{ tool_calls: Array<{ function: { arguments: string } }> }>)[0]!;
    return JSON.parse(msg.tool_calls[0]!.function.arguments);
  };

  test('finds secrets right after an escape and keeps the arguments valid JSON', () => {
    const content = `# env\n${OPENAI_KEY}\n${EMAIL}\n\t4111111111111111\r\n10.0.0.7`;
    const d = evaluateRequest(set, withArgs({ path: '.env', content }));
    expect(argsOf(d)).toEqual({ path: '.env', content: '# env\n[API_KEY_1]\n[EMAIL_1]\n\t[CREDIT_CARD_1]\r\n[IP_ADDRESS_1]' });
  });

  test('finds an e-mail whose @ is written as \\u0040, and replaces the escape with it', () => {
    const d = evaluateRequest(set, withRawArgs('{"to":"jane.doe\\u0040example.com"}'));
    expect(argsOf(d)).toEqual({ to: '[EMAIL_1]' });
  });

  test('a custom pattern written against a literal backslash still matches', () => {
    const accounts = compile([{ name: 'accounts', patterns: [{ regex: 'CORP\\\\[a-z]+', name: 'account' }], action: 'redact' }]);
    const d = evaluateRequest(accounts, { endpoint: 'chat', model: 'm', meta, body: { model: 'm', messages: [{ role: 'user', content: 'log in as CORP\\nancy' }] } });
    expect(d).toMatchObject({ kind: 'modify', body: { messages: [{ content: 'log in as [ACCOUNT_1]' }] } });
  });

  test('a deny policy sees a key after an escape', () => {
    const deny = compile([{ name: 'no-keys', detect: ['api_key'], action: 'deny' }]);
    expect(evaluateRequest(deny, withArgs({ content: `a\n${OPENAI_KEY}` })).kind).toBe('deny');
  });
});

test('evaluation never constructs a RegExp', () => {
  const set = compile([
    { name: 'all', detect: ['email', 'phone', 'credit_card', 'iban', 'national_id', 'ip_address', 'api_key', 'private_key'], action: 'redact' },
    { name: 'words', keywords: ['falcon'], patterns: [{ regex: 'ref-\\d+', name: 'ref' }], action: 'flag', match: { model: 'gpt-*' } },
  ]);
  const Original = RegExp;
  let constructed = 0;
  globalThis.RegExp = new Proxy(Original, {
    construct: (target, args) => {
      constructed++;
      return Reflect.construct(target, args) as object;
    },
  });
  try {
    evaluateRequest(set, chat('gpt-4o', `falcon ref-12 ${EMAIL} 4111111111111111 +14155552671 10.0.0.1`));
  } finally {
    globalThis.RegExp = Original;
  }
  expect(constructed).toBe(0);
});

describe('a call routed under another name (load balancing, aliases): model rules see both names', () => {
  const routedTo = (asked: string, routed: string): RequestInput => ({ ...chat(asked, 'hello'), routed });

  test('deny_models catches the model the call reaches, and the reason names both', () => {
    const set = compile([{ name: 'no-opus', deny_models: ['claude-3-opus*'], action: 'deny' }]);
    const d = evaluateRequest(set, routedTo('smart', 'anthropic/claude-3-opus-latest'));
    expect(d).toMatchObject({ kind: 'deny', policy: 'no-opus', status: 403 });
    if (d.kind === 'deny') expect(d.reason).toContain('"smart" (routed to "anthropic/claude-3-opus-latest")');
    // the asked name alone is denied as before
    expect(evaluateRequest(set, chat('claude-3-opus-latest', 'hello')).kind).toBe('deny');
    expect(evaluateRequest(set, routedTo('smart', 'openai/gpt-4o')).kind).toBe('allow');
  });

  test('allow_models lets a call through when either name is allowed', () => {
    const set = compile([{ name: 'only-gpt', allow_models: ['gpt-*'], action: 'deny' }]);
    expect(evaluateRequest(set, routedTo('fast', 'openai/gpt-4o-mini')).kind).toBe('allow');
    expect(evaluateRequest(set, routedTo('fast', 'anthropic/claude-haiku-4-5')).kind).toBe('deny');
  });

  test('match.model selects by either name; a set_model rewrite leaves the old route behind', () => {
    const set = compile([
      { name: 'haiku-to-sonnet', match: { model: 'claude-haiku*' }, action: 'rewrite', rewrite: { set_model: 'claude-sonnet-4-5' } },
      { name: 'flag-haiku', match: { model: 'claude-haiku*' }, deny_models: ['*'], action: 'flag' },
    ]);
    const d = evaluateRequest(set, routedTo('fast', 'anthropic/claude-haiku-4-5'));
    expect(d.kind).toBe('modify');
    if (d.kind === 'modify') expect(d.body['model']).toBe('claude-sonnet-4-5');
    // selected by the routed name; after the rewrite the call is claude-sonnet-4-5, which the second no longer selects
    expect(d.matches.map((m) => m.policy)).toEqual(['haiku-to-sonnet']);
  });
});

describe('request text outside messages', () => {
  test("chat `prediction.content` (a string or text parts) is redacted like the prompt", () => {
    const body = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'rewrite the file' }],
      prediction: { type: 'content', content: `config: ${OPENAI_KEY} owner ${EMAIL}` },
    };
    const d = evaluateRequest(readme, { endpoint: 'chat', model: 'gpt-4o', meta, body });
    expect(d.kind === 'modify' && d.body.prediction).toEqual({ type: 'content', content: 'config: [API_KEY_1] owner [EMAIL_1]' });
    const parts = { ...body, prediction: { type: 'content', content: [{ type: 'text', text: EMAIL }] } };
    const p = evaluateRequest(readme, { endpoint: 'chat', model: 'gpt-4o', meta, body: parts });
    expect(p.kind === 'modify' && p.body.prediction).toEqual({ type: 'content', content: [{ type: 'text', text: '[EMAIL_1]' }] });
  });

  test('Responses `prompt.variables` are redacted whatever they are named (`name`, `data`, `id`, `url`, `type`)', () => {
    const variables = { name: EMAIL, data: OPENAI_KEY, id: EMAIL, url: EMAIL, type: EMAIL, customer: { type: 'input_text', text: EMAIL } };
    const body = { model: 'gpt-4o', prompt: { id: 'pmpt_1', version: '2', variables }, input: 'hi' };
    const d = evaluateRequest(readme, { endpoint: 'responses', model: 'gpt-4o', meta, body });
    expect(d.kind === 'modify' && d.body.prompt).toEqual({
      id: 'pmpt_1',
      version: '2',
      variables: { name: '[EMAIL_1]', data: '[API_KEY_1]', id: '[EMAIL_1]', url: '[EMAIL_1]', type: '[EMAIL_1]', customer: { type: 'input_text', text: '[EMAIL_1]' } },
    });
  });

  test('max_prompt_chars counts the prediction and the prompt variables', () => {
    const set = compile([{ name: 'small', max_prompt_chars: 50, action: 'deny' }]);
    const long = 'x'.repeat(60);
    const chatBody = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], prediction: { type: 'content', content: long } };
    expect(evaluateRequest(set, { endpoint: 'chat', model: 'gpt-4o', meta, body: chatBody }).kind).toBe('deny');
    const resp = { model: 'gpt-4o', prompt: { id: 'pmpt_1', variables: { name: long } }, input: 'hi' };
    expect(evaluateRequest(set, { endpoint: 'responses', model: 'gpt-4o', meta, body: resp }).kind).toBe('deny');
  });
});
