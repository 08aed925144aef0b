/**
 * Post-response policies on every text an answer carries, and storage policies on every call.
 * A scripted provider (OpenAI and Anthropic wire formats on one port) answers with what each test
 * queues: several choices, reasoning, refusals, logprobs. The refused calls run against the fake
 * provider.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const SECRET = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';
const EMAIL = 'jane@example.com';

const POLICIES = `policies:
  - name: no-keys-out
    detect: [api_key]
    action: deny
    stage: post
  - name: mask-mail
    detect: [email]
    action: redact
    stage: both
`;

/** What the scripted provider answers next: a JSON body, or SSE events (`data` as JSON). */
type Reply = { json: unknown } | { sse: Array<{ event?: string; data: unknown }> };

let upstream: Server;
let replies: Reply[] = [];
let s: Stack;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const reply = replies.shift();
      if (!reply) {
        res.writeHead(500).end('{"error":{"message":"no reply queued"}}');
        return;
      }
      if ('json' in reply) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // one event per read, as a provider sends them token by token
      for (const ev of reply.sse) {
        const data = typeof ev.data === 'string' ? ev.data : JSON.stringify(ev.data);
        res.write(`${ev.event ? `event: ${ev.event}\n` : ''}data: ${data}\n\n`);
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  s = await startStack({ yaml: POLICIES, env: { WATCHLLM_OPENAI_BASE_URL: `${base}/v1`, WATCHLLM_ANTHROPIC_BASE_URL: base } });
});
afterAll(async () => {
  await s.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});
beforeEach(() => {
  replies = [];
  s.events.length = 0;
});

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
const PATHS = { chat: '/v1/chat/completions', responses: '/v1/responses', messages: '/v1/messages' } as const;

/** Calls the gateway with `reply` queued; the status and the whole body as the client got it. */
async function call(endpoint: keyof typeof PATHS, reply: Reply, extra: Record<string, unknown> = {}): Promise<{ status: number; text: string }> {
  replies.push(reply);
  const body =
    endpoint === 'chat'
      ? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'key?' }] }
      : endpoint === 'responses'
        ? { model: 'gpt-4o-mini', input: 'key?' }
        : { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'key?' }] };
  const stream = 'sse' in reply;
  const r = await fetch(`${s.url}${PATHS[endpoint]}`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ ...body, ...extra, ...(stream ? { stream } : {}) }) });
  return { status: r.status, text: await r.text() };
}

const CHAT = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', usage: { prompt_tokens: 2, completion_tokens: 9, total_tokens: 11 } };
const answer = (...messages: Array<Record<string, unknown>>) => ({
  json: { ...CHAT, choices: messages.map((message, index) => ({ index, message: { role: 'assistant', ...message }, finish_reason: 'stop' })) },
});
const chunk = (index: number, delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  data: { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index, delta, finish_reason: null, ...extra }] },
});
const chatEnd = (choices: number) => [
  { data: { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: Array.from({ length: choices }, (_, index) => ({ index, delta: {}, finish_reason: 'stop' })) } },
  { data: '[DONE]' },
];
const RESPONSE = { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-4o-mini', usage: { input_tokens: 2, output_tokens: 9, total_tokens: 11 } };
const responsesEvent = (type: string, fields: Record<string, unknown>) => ({ event: type, data: { type, ...fields } });
const responsesEnd = [responsesEvent('response.completed', { response: { ...RESPONSE, output: [] } })];

describe('an enforced deny sees each choice of an n > 1 answer whole', () => {
  test('streamed: a key in choice 0, interleaved character by character with choice 1, is cut before it leaves', async () => {
    const a = `Here it is: ${SECRET} now`;
    const b = 'I cannot share that, sorry.';
    const events = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i < a.length) events.push(chunk(0, { content: a[i] }));
      if (i < b.length) events.push(chunk(1, { content: b[i] }));
    }
    const { status, text } = await call('chat', { sse: [...events, ...chatEnd(2)] }, { n: 2 });
    expect(status).toBe(200);
    expect(text).toContain('"finish_reason":"content_filter"');
    const sent = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as { choices: Array<{ index: number; delta: { content?: string } }> });
    const choice0 = sent.flatMap((c) => c.choices).filter((c) => c.index === 0).map((c) => c.delta.content ?? '').join('');
    expect(choice0).not.toContain('sk-proj');
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_policy', policies: { outcome: 'denied' } });
  });

  test('complete: "I cannot share that" in choice 0 does not hide the key that starts choice 1', async () => {
    const { status, text } = await call('chat', answer({ content: 'I cannot share that' }, { content: `${SECRET} is the key` }), { n: 2 });
    expect(status).toBe(403);
    expect(text).toContain('no-keys-out');
    expect(text).not.toContain(SECRET);
  });
});

describe('an enforced deny sees reasoning and refusals', () => {
  test.each([
    ['chat reasoning_content', 'chat', answer({ content: 'No.', reasoning_content: `The key is ${SECRET}` })],
    ['chat reasoning (OpenRouter, Groq)', 'chat', answer({ content: 'No.', reasoning: `The key is ${SECRET}` })],
    ['a chat refusal', 'chat', answer({ content: null, refusal: `I will not say ${SECRET}` })],
    [
      'an Anthropic thinking block',
      'messages',
      {
        json: {
          id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'end_turn', stop_sequence: null,
          content: [{ type: 'thinking', thinking: `The key is ${SECRET}`, signature: 'sig' }, { type: 'text', text: 'No.' }],
          usage: { input_tokens: 2, output_tokens: 9 },
        },
      },
    ],
    [
      'a Responses reasoning summary',
      'responses',
      { json: { ...RESPONSE, output: [{ type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: `The key is ${SECRET}` }] }, { type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text: 'No.', annotations: [] }] }] } },
    ],
    [
      'a Responses refusal',
      'responses',
      { json: { ...RESPONSE, output: [{ type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'refusal', refusal: `I will not say ${SECRET}` }] }] } },
    ],
  ] as const)('complete: %s is refused (403), never sent', async (_name, endpoint, reply) => {
    const { status, text } = await call(endpoint, reply);
    expect(status).toBe(403);
    expect(text).not.toContain(SECRET);
  });

  test.each([
    ['chat delta.reasoning', 'chat', [chunk(0, { reasoning: `The key is ${SECRET} ` }), chunk(0, { content: 'No.' }), ...chatEnd(1)], 'content_filter'],
    ['chat delta.refusal', 'chat', [chunk(0, { refusal: `I will not say ${SECRET} ` }), ...chatEnd(1)], 'content_filter'],
    [
      'Responses reasoning summary deltas',
      'responses',
      [responsesEvent('response.reasoning_summary_text.delta', { item_id: 'rs_1', output_index: 0, summary_index: 0, delta: `The key is ${SECRET} `, sequence_number: 1 }), ...responsesEnd],
      '"incomplete_details":{"reason":"content_filter"}',
    ],
    [
      'Responses reasoning text deltas',
      'responses',
      [responsesEvent('response.reasoning_text.delta', { item_id: 'rs_1', output_index: 0, content_index: 0, delta: `The key is ${SECRET} `, sequence_number: 1 }), ...responsesEnd],
      '"incomplete_details":{"reason":"content_filter"}',
    ],
  ] as const)('streamed: %s with a key end the stream before it leaves', async (_name, endpoint, sse, end) => {
    const { status, text } = await call(endpoint, { sse: [...sse] });
    expect(status).toBe(200);
    expect(text).toContain(end);
    expect(text).not.toContain(SECRET);
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_policy', policies: { outcome: 'denied' } });
  });
});

describe('logprobs do not carry what a policy masked', () => {
  const logprobs = (token: string) => ({ content: [{ token, logprob: -0.1, bytes: [...Buffer.from(token)], top_logprobs: [] }] });

  test('streamed chat: the e-mail goes out as [EMAIL_1] and no chunk carries logprobs', async () => {
    const pieces = ['Mail ', 'jane', '@exa', 'mple.com', ' today'];
    const { text } = await call('chat', { sse: [...pieces.map((p) => chunk(0, { content: p }, { logprobs: logprobs(p) })), ...chatEnd(1)] }, { logprobs: true });
    const sent = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string }; logprobs?: unknown }> });
    expect(sent.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('')).toBe('Mail [EMAIL_1] today');
    for (const c of sent.flatMap((c) => c.choices)) expect(c.logprobs ?? null).toBeNull();
    expect(text).not.toContain('jane');
  });

  test('complete chat: logprobs are null beside the masked content', async () => {
    const reply = answer({ content: `Mail ${EMAIL} today` });
    (reply.json.choices[0] as Record<string, unknown>)['logprobs'] = { content: ['Mail ', 'jane', '@exa', 'mple.com', ' today'].map((t) => logprobs(t).content[0]) };
    const { status, text } = await call('chat', reply, { logprobs: true });
    expect(status).toBe(200);
    const body = JSON.parse(text) as { choices: Array<{ message: { content: string }; logprobs: unknown }> };
    expect(body.choices[0]).toMatchObject({ message: { content: 'Mail [EMAIL_1] today' }, logprobs: null });
    expect(text).not.toContain('jane');
  });

  test('streamed Responses: output_text deltas and the events that repeat the text carry empty logprobs', async () => {
    const at = { item_id: 'msg_1', output_index: 0, content_index: 0 };
    const deltas = ['Mail ', 'jane', '@exa', 'mple.com', ' today'].map((d, i) =>
      responsesEvent('response.output_text.delta', { ...at, delta: d, logprobs: logprobs(d).content, sequence_number: i + 1 }),
    );
    const done = responsesEvent('response.output_text.done', { ...at, text: `Mail ${EMAIL} today`, logprobs: logprobs('jane').content, sequence_number: 9 });
    const { text } = await call('responses', { sse: [...deltas, done, ...responsesEnd] });
    expect(text).toContain('[EMAIL_1]');
    expect(text).not.toContain('jane');
  });
});

describe("an answer's placeholders go on from the prompt's", () => {
  // The model saw the prompt's address as [EMAIL_1]; a new address in its answer must not take that name.
  const prompt = { messages: [{ role: 'user', content: `Reply to ${EMAIL}` }] };
  const said = 'I wrote to [EMAIL_1] and cc bob@example.org';

  test('complete chat', async () => {
    const { text } = await call('chat', answer({ content: said }), prompt);
    expect((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('I wrote to [EMAIL_1] and cc [EMAIL_2]');
  });

  test('streamed chat', async () => {
    const { text } = await call('chat', { sse: [chunk(0, { content: said.slice(0, 20) }), chunk(0, { content: said.slice(20) }), ...chatEnd(1)] }, prompt);
    const sent = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> });
    expect(sent.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('')).toBe('I wrote to [EMAIL_1] and cc [EMAIL_2]');
  });
});

describe('a stream masks every text of the answer, as a complete answer does', () => {
  test('chat: tool-call arguments and reasoning', async () => {
    const call0 = { index: 0, id: 'call_1', type: 'function', function: { name: 'send', arguments: '{"to":"ja' } };
    const events = [
      chunk(0, { reasoning_content: `Mail ${EMAIL} ` }),
      chunk(0, { tool_calls: [call0] }),
      chunk(0, { tool_calls: [{ index: 0, function: { arguments: 'ne@example.com"}' } }] }),
      { data: { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } },
      { data: '[DONE]' },
    ];
    const { status, text } = await call('chat', { sse: events });
    expect(status).toBe(200);
    expect(text).not.toContain('jane');
    const deltas = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: Record<string, unknown> }> }).choices[0]!.delta);
    const args = deltas.flatMap((d) => (d['tool_calls'] as Array<{ function: { arguments: string } }> | undefined) ?? []).map((t) => t.function.arguments).join('');
    expect(JSON.parse(args)).toEqual({ to: '[EMAIL_1]' });
    expect(deltas.map((d) => d['reasoning_content'] ?? '').join('')).toBe('Mail [EMAIL_1] ');
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', policies: { outcome: 'redacted' } });
    // stored as sent, every text of it; and with no usage from the host, the output is estimated from it
    expect(x!.response.body).toContain('Mail [EMAIL_1]');
    expect(x!.response.body).toContain('{"to":"[EMAIL_1]"}');
    expect(x!.response.body).not.toContain('jane');
    expect(x!.response.usageSource).toBe('estimate');
    expect(x!.response.usage!.completionTokens).toBeGreaterThan(5);
  });

  test("chat: an audio answer's transcript, streamed and complete (the audio itself is passed as it is)", async () => {
    const streamed = await call('chat', {
      sse: [chunk(0, { audio: { id: 'audio_1', transcript: `write to ${EMAIL.slice(0, 6)}` } }), chunk(0, { audio: { data: 'UklGRg==', transcript: `${EMAIL.slice(6)} now` } }), ...chatEnd(1)],
    });
    expect(streamed.text).not.toContain('jane');
    const transcript = streamed.text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { audio?: { transcript?: string } } }> }).choices[0]?.delta.audio?.transcript ?? '')
      .join('');
    expect(transcript).toBe('write to [EMAIL_1] now');
    const complete = await call('chat', answer({ content: null, audio: { id: 'audio_1', data: 'UklGRg==', expires_at: 1, transcript: `write to ${EMAIL}` } }));
    expect(JSON.parse(complete.text).choices[0].message.audio).toEqual({ id: 'audio_1', data: 'UklGRg==', expires_at: 1, transcript: 'write to [EMAIL_1]' });
  });

  test("Anthropic: a tool_use block's input JSON", async () => {
    const ev = (data: Record<string, unknown>) => ({ event: data['type'] as string, data });
    const events = [
      ev({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } }),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'send', input: {} } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"to": "jane@exam' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: 'ple.com"}' } }),
      ev({ type: 'content_block_stop', index: 0 }),
      ev({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } }),
      ev({ type: 'message_stop' }),
    ];
    const { status, text } = await call('messages', { sse: events });
    expect(status).toBe(200);
    expect(text).not.toContain('jane');
    const json = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { type: string; delta?: { partial_json?: string } });
    const input = json.filter((e) => e.type === 'content_block_delta').map((e) => e.delta?.partial_json ?? '').join('');
    expect(JSON.parse(input)).toEqual({ to: '[EMAIL_1]' });
    // the held rest comes before the block's stop
    expect(json.map((e) => e.type).slice(-4)).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });
});

test('a streamed redaction is recorded as redacted, as a complete one is', async () => {
  const { text } = await call('chat', { sse: [chunk(0, { content: `Mail ${EMAIL} ` }), chunk(0, { content: 'today' }), ...chatEnd(1)] });
  expect(text).toContain('[EMAIL_1]');
  const [x] = await s.waitForEvents(1);
  expect(x).toMatchObject({ outcome: 'success', policies: { outcome: 'redacted' } });
});

describe('stored: drop holds for calls refused before the policy stage', () => {
  const KEY = 'wl_acme_answers_0123456789abcdef';
  const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my key is ${SECRET}` }] });

  async function refused(stack: Stack, init: { body: string; key?: string; headers?: Record<string, string>; path?: string }): Promise<{ status: number; raw: string | null }> {
    stack.events.length = 0;
    const r = await fetch(`${stack.url}${init.path ?? '/v1/chat/completions'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${init.key ?? 'sk-byok-test'}`, ...init.headers },
      body: init.body,
    });
    await r.text();
    const [x] = await stack.waitForEvents(1);
    return { status: r.status, raw: x!.request.raw };
  }

  test('a global stored: drop: a bad gateway key, an invalid body, bad JSON and an unknown provider keep no body', async () => {
    const other = await startStack({ yaml: `keys:\n  - { name: acme, project: acme, key: ${KEY} }\npolicies:\n  - name: keep-nothing\n    stored: drop\n` });
    try {
      expect(await refused(other, { body: BODY, key: 'wl_not_a_key_0123456789abcdefgh' })).toEqual({ status: 401, raw: null });
      expect(await refused(other, { body: JSON.stringify({ model: 'gpt-4o-mini', messages: `my key is ${SECRET}` }) })).toEqual({ status: 400, raw: null });
      expect(await refused(other, { body: `{"model":"gpt-4o-mini","messages":[{"content":"${SECRET}"` })).toEqual({ status: 400, raw: null });
      expect(await refused(other, { body: BODY.replace('gpt-4o-mini', 'nope/gpt-4o-mini') })).toEqual({ status: 400, raw: null });
    } finally {
      await other.close();
    }
  });

  test('a policy selecting a project: a gateway key refused before its lookup may be that project\'s, a caller without one is not', async () => {
    const other = await startStack({ yaml: `keys:\n  - { name: acme, project: acme, key: ${KEY} }\npolicies:\n  - name: acme-private\n    match: { project: acme }\n    stored: drop\n` });
    try {
      expect(await refused(other, { body: BODY, key: 'wl_not_a_key_0123456789abcdefgh' })).toEqual({ status: 401, raw: null });
      expect(await refused(other, { body: BODY.replace('gpt-4o-mini', 'nope/gpt-4o-mini'), key: KEY })).toEqual({ status: 400, raw: null });
      // no gateway key: no project, so the policy cannot select the call
      const kept = await refused(other, { body: BODY.replace('gpt-4o-mini', 'nope/gpt-4o-mini') });
      expect(kept.status).toBe(400);
      expect(kept.raw).toContain(SECRET);
    } finally {
      await other.close();
    }
  });
});
