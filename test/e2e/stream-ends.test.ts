/**
 * How a stream ends, as the official SDKs read it: a provider's proper end without [DONE], a
 * provider that stops in the middle of an event, and the early ends the gateway makes itself (an
 * enforced `deny` policy, a strict budget) on each surface: the events before the cut still go
 * out, open blocks are closed, the Responses API gets its `response.incomplete`, and what is stored
 * and counted is what the client was sent. Also where time to first token is measured.
 *
 * A scripted provider (OpenAI and Anthropic wire formats on one port) answers with what each test
 * queues: SSE events one per read, all in one read, or raw bytes.
 */
import { createServer, type Server } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { durations, type Exchange } from '@watchllm/gateway';
import { startStack, type Stack } from './harness.ts';

const SECRET = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';
/** Gateway keys with a strict budget: room for about 50 output tokens of gpt-4o-mini, 25 of claude-haiku-4-5. */
const CAPPED = 'wl_stream_ends_capped_01234567890';
const CAPPED_CLAUDE = 'wl_stream_ends_capped_claude_0123';

type Ev = { event?: string; data: unknown } | { wait: number };
/** What the scripted provider answers next. */
type Reply = {
  /** SSE events, one per read (or `wait` ms between them). */
  sse?: Ev[];
  /** All events in one write. */
  oneRead?: boolean;
  /** Raw pieces written as they are, one per read. */
  raw?: string[];
  /** Destroy the socket after the last piece instead of ending the response. */
  drop?: boolean;
  /** Wait this long before the response headers. */
  headersAfterMs?: number;
};

let upstream: Server;
let replies: Reply[] = [];
let s: Stack;
/** The same provider behind an enforced `deny` policy for keys in answers. */
let g: Stack;

const frame = (e: { event?: string; data: unknown }) => `${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const reply = replies.shift();
      if (!reply) {
        res.writeHead(500).end('{"error":{"message":"no reply queued"}}');
        return;
      }
      if (reply.headersAfterMs) await sleep(reply.headersAfterMs);
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (reply.oneRead) res.write(reply.sse!.map((e) => ('wait' in e ? '' : frame(e))).join(''));
      else {
        for (const piece of reply.raw ?? reply.sse ?? []) {
          if (typeof piece !== 'string' && 'wait' in piece) {
            await sleep(piece.wait);
            continue;
          }
          res.write(typeof piece === 'string' ? piece : frame(piece));
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      if (reply.drop) res.socket?.destroy();
      else res.end();
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const env = { WATCHLLM_OPENAI_BASE_URL: `${base}/v1`, WATCHLLM_ANTHROPIC_BASE_URL: base, WATCHLLM_OPENAI_API_KEY: 'sk-held', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' };
  s = await startStack({
    yaml: [
      'budgets:',
      '  strict: true',
      '  default_max_tokens: 20',
      'keys:',
      // gpt-4o-mini output: $0.60 per 1M tokens: the 20 tokens reserved fit, about 50 in all do
      `  - { name: capped, project: capped, key: ${CAPPED}, budget: { usd: 0.00003, period: month } }`,
      // claude-haiku-4-5 output: $5 per 1M tokens: max_tokens 20 reserves $0.0001 of $0.00015
      `  - { name: capped-claude, project: capped, key: ${CAPPED_CLAUDE}, budget: { usd: 0.00015, period: month } }`,
    ].join('\n'),
    env,
  });
  // A post-response policy has every stream of its gateway parsed: it gets a gateway of its own.
  g = await startStack({ yaml: ['policies:', '  - name: no-keys-out', '    detect: [api_key]', '    action: deny', '    stage: post'].join('\n'), env });
});
afterAll(async () => {
  await s.close();
  await g.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});
beforeEach(() => {
  replies = [];
  s.events.length = 0;
  g.events.length = 0;
});

const openai = (key = 'sk-byok-test', stack = s) => new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = (key = 'sk-ant-byok', stack = s) => new Anthropic({ baseURL: stack.url, apiKey: key, maxRetries: 0 });

// ---- the providers' events ----

const HEAD = { id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 7, model: 'gpt-4o-mini' };
const chunk = (content: string, finish: string | null = null) => ({ data: { ...HEAD, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: finish }] } });
const chatUsage = { data: { ...HEAD, choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } } };

const MESSAGE = { id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } };
const a = (type: string, fields: Record<string, unknown> = {}) => ({ event: type, data: { type, ...fields } });
const anthropicStart = [a('message_start', { message: MESSAGE }), a('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })];
const anthropicText = (text: string) => a('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
const anthropicEnd = [a('content_block_stop', { index: 0 }), a('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 30 } }), a('message_stop')];

const RESPONSE = { id: 'resp_up', object: 'response', created_at: 1700000000, status: 'in_progress', model: 'gpt-4o-mini', output: [], usage: null, incomplete_details: null, error: null };
/** A Responses stream: created, in_progress, a message item with an output_text part, then `texts` as deltas. */
function responses(texts: Array<string | { wait: number }>, end = true): Ev[] {
  let seq = 0;
  const r = (type: string, fields: Record<string, unknown> = {}) => ({ event: type, data: { type, sequence_number: seq++, ...fields } });
  const item = { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  const events: Ev[] = [
    r('response.created', { response: RESPONSE }),
    r('response.in_progress', { response: RESPONSE }),
    r('response.output_item.added', { output_index: 0, item }),
    r('response.content_part.added', { item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
  ];
  for (const t of texts) events.push(typeof t === 'string' ? r('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: t }) : t);
  if (!end) return events;
  const text = texts.filter((t) => typeof t === 'string').join('');
  const part = { type: 'output_text', text, annotations: [] };
  const done = { ...item, status: 'completed', content: [part] };
  events.push(
    r('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text }),
    r('response.content_part.done', { item_id: 'msg_1', output_index: 0, content_index: 0, part }),
    r('response.output_item.done', { output_index: 0, item: done }),
    r('response.completed', { response: { ...RESPONSE, status: 'completed', output: [done], usage: { input_tokens: 5, output_tokens: 9, total_tokens: 14 } } }),
  );
  return events;
}

/** The SSE events a raw response body holds. */
function events(text: string): Array<{ event?: string; data: string }> {
  return text
    .split(/\n\n/)
    .filter((b) => b.trim() !== '')
    .map((b) => {
      const event = /^event: (.*)$/m.exec(b)?.[1];
      const data = b
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return event ? { event, data } : { data };
    });
}

async function post(path: string, body: Record<string, unknown>, key = 'sk-byok', stack = s): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-api-key': key, 'anthropic-version': '2023-06-01' };
  const r = await fetch(`${stack.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return r.text();
}

/** The answer text of the chat chunks in `text`. */
function chatText(text: string): string {
  return events(text)
    .filter((e) => e.data.startsWith('{'))
    .map((e) => (JSON.parse(e.data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? '')
    .join('');
}

describe('a stream ended early stores and counts only what the client was sent', () => {
  test('a deny: the key the policy stopped is not in the stored answer', async () => {
    replies.push({ sse: [chunk('The key is '), chunk(SECRET.slice(0, 12)), chunk(SECRET.slice(12)), chunk(' and more.'), chunk('', 'stop'), { data: '[DONE]' }] });
    const text = await post('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'key?' }] }, 'sk-byok', g);
    expect(text).toContain('"finish_reason":"content_filter"');
    const [x] = await g.waitForEvents(1);
    expect(x!.outcome).toBe('denied_policy');
    expect(x!.response.body).toBe(chatText(text));
    expect(x!.response.body).not.toContain('sk-proj');
  });

  test('a strict budget: the chunk that crossed it is neither stored nor counted', async () => {
    const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    replies.push({ sse: [chunk('Hi there. '), chunk(long), chunk('', 'stop'), chatUsage, { data: '[DONE]' }] });
    const stream = await openai(CAPPED).chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'talk' }] });
    let got = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      got += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(got).toBe('Hi there. ');
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_limit', response: { body: 'Hi there. ', usageSource: 'estimate' } });
    expect(x!.response.usage!.completionTokens).toBeLessThanOrEqual(4);
    expect(usage?.completion_tokens).toBe(x!.response.usage!.completionTokens);
  });
});

describe("a provider's proper end", () => {
  test('a chat stream that ends with its finish reason and usage, without [DONE], is complete', async () => {
    for (const include_usage of [true, false]) {
      s.events.length = 0;
      replies.push({ sse: [chunk('Hello'), chunk(' there'), chunk('', 'stop'), chatUsage] });
      const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage }, messages: [{ role: 'user', content: 'hi' }] });
      let got = '';
      for await (const c of stream) got += c.choices[0]?.delta.content ?? '';
      expect(got).toBe('Hello there');
      const [x] = await s.waitForEvents(1);
      expect(x).toMatchObject({ outcome: 'success', error: null, response: { finishReason: 'stop', usageSource: 'provider', usage: { promptTokens: 5, completionTokens: 9 } } });
    }
  });
});

describe('a provider that stops in the middle of an event', () => {
  const partial = `data: ${JSON.stringify({ ...HEAD, choices: [{ index: 0, delta: { content: 'lost' }, finish_reason: null }] }).slice(0, 30)}`;
  test.each([
    ['chat, usage asked (bytes passed as they come)', true, false],
    ['chat, no usage asked (the usage chunk filtered)', false, false],
    ['chat, usage asked, connection dropped', true, true],
    ['chat, no usage asked, connection dropped', false, true],
  ] as const)('%s: the SDK raises the cut, not a JSON error; the partial event is not sent', async (_name, include_usage, drop) => {
    replies.push({ raw: [frame(chunk('Hello')), frame(chunk(' there')), partial], drop });
    const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage }, messages: [{ role: 'user', content: 'hi' }] });
    let got = '';
    const err = await (async () => {
      for await (const c of stream) got += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ code: 'upstream_stream_cut' });
    expect(got).toBe('Hello there');
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'upstream_error', error: { type: 'upstream_stream_cut' }, response: { body: 'Hello there' } });
  });

  test('Responses: the cut is the Responses API error event, numbered on from the stream', async () => {
    const evs = responses(['Hel', 'lo'], false);
    replies.push({ raw: [...evs.map((e) => frame(e as { event: string; data: unknown })), 'event: response.output_text.delta\ndata: {"type":"response.out'] });
    const text = await post('/v1/responses', { model: 'gpt-4o-mini', stream: true, input: 'hi' });
    const got = events(text);
    expect(got.at(-2)!.data).toContain('"delta":"lo"');
    expect(got.at(-1)!.event).toBe('error');
    expect(JSON.parse(got.at(-1)!.data)).toEqual({ type: 'error', code: 'upstream_stream_cut', message: expect.stringContaining('cut'), param: null, sequence_number: 6 });
  });
});

describe('an early end the SDKs read as a proper end', () => {
  test.each([false, true])('Anthropic, a key (all in one read: %s): the events before it go out, the open block is closed, then refusal', async (oneRead) => {
    replies.push({ sse: [...anthropicStart, anthropicText('Sure. '), anthropicText(`The key is ${SECRET} ok`), ...anthropicEnd], oneRead });
    const stream = anthropic('sk-ant-byok', g).messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'key?' }] });
    const raw: string[] = [];
    stream.on('streamEvent', (e) => raw.push(e.type));
    const message = await stream.finalMessage();
    expect(message).toMatchObject({ id: 'msg_up', stop_reason: 'refusal' });
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    // the delta before the one with the key went out with it, in the same read or not
    expect(text).toBe('Sure. ');
    expect(raw).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const [x] = await g.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_policy', response: { body: text } });
  });

  test('Anthropic, a strict budget: the open block is closed before max_tokens', async () => {
    const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    replies.push({ sse: [...anthropicStart, anthropicText('Hi there. '), anthropicText(long), ...anthropicEnd] });
    const stream = anthropic(CAPPED_CLAUDE).messages.stream({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'talk' }] });
    const raw: string[] = [];
    stream.on('streamEvent', (e) => raw.push(e.type));
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.content).toMatchObject([{ type: 'text', text: 'Hi there. ' }]);
    expect(raw.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_limit', response: { body: 'Hi there. ' } });
    expect(message.usage.output_tokens).toBe(x!.response.usage!.completionTokens);
    expect(message.usage.output_tokens).toBeLessThanOrEqual(4);
  });

  test.each([false, true])('Responses, a key (all in one read: %s): the events before it go out, the end is response.incomplete and finalResponse() resolves', async (oneRead) => {
    replies.push({ sse: responses(['Sure. ', `The key is ${SECRET} ok`]), oneRead });
    const stream = openai('sk-byok', g).responses.stream({ model: 'gpt-4o-mini', input: 'key?' });
    const seqs: number[] = [];
    stream.on('event', (e) => seqs.push(e.sequence_number));
    const r = await stream.finalResponse();
    expect(r).toMatchObject({ id: 'resp_up', created_at: RESPONSE.created_at, model: 'gpt-4o-mini', status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
    expect(r.output_text).toBe('Sure. ');
    expect(JSON.stringify(r)).not.toContain('sk-proj');
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const [x] = await g.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_policy', response: { body: r.output_text } });
    expect(r.usage).toMatchObject({ output_tokens: x!.response.usage!.completionTokens, input_tokens: x!.response.usage!.promptTokens });
  });

  test('Responses, a strict budget: response.incomplete for max_output_tokens with the usage recorded', async () => {
    const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    replies.push({ sse: responses(['Hi there. ', long]) });
    const stream = openai(CAPPED).responses.stream({ model: 'gpt-4o-mini', input: 'talk' });
    const r = await stream.finalResponse();
    expect(r).toMatchObject({ id: 'resp_up', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output_text: 'Hi there. ' });
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'denied_limit', response: { body: 'Hi there. ' } });
    expect(r.usage).toMatchObject({ output_tokens: x!.response.usage!.completionTokens, total_tokens: x!.response.usage!.promptTokens + x!.response.usage!.completionTokens });
  });

  test('chat, a key in the first read: the chunks before it go out, then content_filter', async () => {
    replies.push({ sse: [chunk('Sure. '), chunk(`The key is ${SECRET} ok`), chunk('', 'stop'), { data: '[DONE]' }], oneRead: true });
    const stream = await openai('sk-byok', g).chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'key?' }] });
    let got = '';
    let finish: string | null = null;
    for await (const c of stream) {
      got += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect({ got, finish }).toEqual({ got: 'Sure. ', finish: 'content_filter' });
  });
});

describe('time to first token', () => {
  const ttft = (x: Exchange) => durations(x).ttftMs;
  test.each([
    ['Responses', () => responses([{ wait: 300 }, 'Hi'])],
    ['Anthropic', () => [...anthropicStart, { wait: 300 }, anthropicText('Hi'), ...anthropicEnd]],
    ['chat', () => [{ data: { ...HEAD, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] } }, { wait: 300 }, chunk('Hi'), chunk('', 'stop'), { data: '[DONE]' }]],
  ] as const)('%s: measured at the first text, not at the events before it', async (name, sse) => {
    replies.push({ sse: sse() as Ev[] });
    if (name === 'Responses') await post('/v1/responses', { model: 'gpt-4o-mini', stream: true, input: 'hi' });
    else if (name === 'Anthropic') await post('/v1/messages', { model: 'claude-haiku-4-5', stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    else await post('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(ttft(x!)).toBeGreaterThanOrEqual(290);
  });

  test('a stream that fails before its first token records none, and is not in the TTFT histogram', async () => {
    const count = async () => Number(/^watchllm_time_to_first_token_seconds_count\{[^}]*\} (\d+)/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);
    const before = await count();
    replies.push({ sse: [chunk('late')], headersAfterMs: 500 });
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-byok', 'x-watchllm-timeout-ms': '50' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(504);
    await r.text();
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('timeout');
    expect(ttft(x!)).toBeNull();
    expect(await count()).toBe(before);
  });
});

test("Azure's opening chunk of prompt filter results reaches a client that did not ask for usage", async () => {
  const filters = { data: { id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: 'safe' } } }] } };
  replies.push({ sse: [filters, chunk('Hi'), chunk('', 'stop'), chatUsage, { data: '[DONE]' }] });
  const text = await post('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const got = events(text);
  expect(got[0]!.data).toContain('"prompt_filter_results"');
  expect(got.some((e) => e.data.includes('"usage"'))).toBe(false);
  expect(chatText(text)).toBe('Hi');
});
