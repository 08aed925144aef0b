/**
 * Retries: with `retries:` in watchllm.yaml (or `x-watchllm-retries` per call), a model whose
 * provider fails in a way that passes (429, 5xx, 529, unreachable) is tried again after a wait
 * (the provider's retry-after when it names one) before the call moves on to a fallback or gives
 * the client the provider's answer. One event per call lists the tries that were retried.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { attemptText, durations } from '../../gateway/src/exchange.ts';
import { toRow } from '../../gateway/src/events/row.ts';
import { freePort } from '../support/ports.ts';
import { startStack, type Stack } from './harness.ts';

const KEY = 'wl_retries_0123456789abcdefghijkl';
const LIMITED = 'wl_retries_limited_0123456789abcd';

let s: Stack;
let gw: OpenAI;

beforeAll(async () => {
  const closed = await freePort();
  s = await startStack({
    yaml: [
      'retries: { attempts: 2, max_per_call: 4, backoff_ms: 20, max_wait_ms: 2000 }',
      'keys:',
      `  - { name: app, project: acme, key: ${KEY} }`,
      `  - { name: limited, project: acme, key: ${LIMITED}, limits: { rpm: 2 } }`,
      'fallbacks:',
      '  gpt-4o: [claude-sonnet-4-5]',
      'providers:',
      `  groq: { base_url: "http://127.0.0.1:${closed}/v1", models: ["llama-*"] }`,
    ].join('\n'),
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held-openai', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held', WATCHLLM_GROQ_API_KEY: 'gsk-held' },
  });
  // the SDK's own retries off: every retry seen here is the gateway's
  gw = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(() => s?.close());
beforeEach(() => s.fake.reset());

const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hello there' }] });
const paths = () => s.fake.calls.map((c) => `${c.path} ${c.status}`);
const fallbacksFailed = async (): Promise<number> => {
  const m = /^watchllm_fallbacks_total\{provider="openai",result="failed"\} (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
};
const lastEvent = async () => (await s.waitForEvents(s.events.length))[s.events.length - 1]!;
/** A chat call over fetch, so that every header is the test's. */
const chat = (model: string, headers: Record<string, string> = {}, key = KEY) =>
  fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(ask(model)),
  });

describe('retries from watchllm.yaml', () => {
  test('a 503 is retried on the same model and the client gets its answer; the event lists the retried try', async () => {
    const before = s.events.length;
    s.fake.next({ status: 503, retryAfter: 0 });
    const { data, response } = await gw.chat.completions.create(ask('gpt-4o-mini')).withResponse();
    expect(data.choices[0]?.message.content).toContain('Hello from fake gpt-4o-mini');
    expect(response.headers.get('x-watchllm-retries')).toBe('1');
    expect(response.headers.get('x-watchllm-fallback')).toBeNull();
    expect(paths()).toEqual(['/v1/chat/completions 503', '/v1/chat/completions 200']);
    // the same credential and the same body both times
    expect(s.fake.calls[1]?.headers['authorization']).toBe('Bearer sk-held-openai');
    expect(s.fake.calls[1]?.rawBody).toBe(s.fake.calls[0]?.rawBody);

    const [x] = (await s.waitForEvents(before + 1)).slice(before);
    expect(x).toMatchObject({ outcome: 'success', route: { provider: 'openai', model: 'gpt-4o-mini' } });
    expect(x!.response.status).toBe(200);
    expect(x!.attempts.map(attemptText)).toEqual(['openai/gpt-4o-mini: HTTP 503 server_error (retried after 0 ms)']);
    expect(toRow(x!, { storeBodies: true }).attempts).toEqual(['openai/gpt-4o-mini: HTTP 503 server_error (retried after 0 ms)']);
    expect(x!.response.usage?.completionTokens).toBeGreaterThan(0);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^watchllm_retries_total\{provider="openai"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^watchllm_upstream_errors_total\{provider="openai",kind="503"\} [1-9]\d*$/m);
  });

  test("the provider's retry-after is the wait (here 300 ms), counted as upstream time", async () => {
    s.fake.next({ status: 429, retryAfter: 0.3 });
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(200);
    const x = await lastEvent();
    expect(x.attempts.map(attemptText)).toEqual([expect.stringMatching(/^openai\/gpt-4o-mini: HTTP 429 \S+ \(retried after 300 ms\)$/)]);
    // the wait is the provider's doing: server-timing charges it to upstream, not to the gateway
    const timing = response.headers.get('server-timing') ?? '';
    expect(Number(/upstream;dur=([\d.]+)/.exec(timing)?.[1])).toBeGreaterThanOrEqual(300);
  });

  test('a wait longer than max_wait_ms is not taken: the client gets the 429 and its retry-after', async () => {
    s.fake.next({ status: 429, retryAfter: 30 });
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    expect(paths()).toEqual(['/v1/chat/completions 429']);
    expect((await lastEvent()).attempts).toEqual([]);
  });

  test('every try failing: the client gets the last failure as the provider sent it', async () => {
    for (let i = 0; i < 3; i++) s.fake.next({ status: 500, retryAfter: 0, errorMessage: `failure ${i + 1}` });
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(500);
    expect(response.headers.get('x-watchllm-retries')).toBe('2');
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('failure 3');
    expect(paths()).toEqual(Array(3).fill('/v1/chat/completions 500'));
    const x = await lastEvent();
    expect(x).toMatchObject({ outcome: 'upstream_error', error: { message: 'failure 3' } });
    expect(x.attempts.map((a) => a.result)).toEqual(['retried', 'retried']);
  });

  test('retries come before the fallback: the model is tried three times, then the next model answers', async () => {
    for (let i = 0; i < 3; i++) s.fake.next({ status: 503, retryAfter: 0 });
    const { data, response } = await gw.chat.completions.create(ask('gpt-4o')).withResponse();
    expect(data.model).toBe('claude-sonnet-4-5');
    expect(response.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-sonnet-4-5');
    expect(response.headers.get('x-watchllm-retries')).toBe('2');
    expect(paths()).toEqual([...Array(3).fill('/v1/chat/completions 503'), '/v1/messages 200']);
    const x = await lastEvent();
    expect(x.attempts.map((a) => `${a.model} ${a.result}`)).toEqual(['openai/gpt-4o retried', 'openai/gpt-4o retried', 'openai/gpt-4o failed']);
  });

  test('no model answering: the client gets the last failure that could have passed, and the header counts every retry', async () => {
    // gpt-4o: 503, retried, 503, retried, 503; claude: 503, retried, then a 400 of its own
    for (let i = 0; i < 3; i++) s.fake.next({ status: 503, retryAfter: 0 });
    s.fake.next({ status: 503, retryAfter: 0, errorMessage: 'claude overloaded' });
    s.fake.next({ status: 400, errorMessage: 'claude refuses' });
    const response = await chat('gpt-4o');
    expect(response.status).toBe(503);
    expect(JSON.stringify(await response.json())).toContain('claude overloaded');
    expect(response.headers.get('x-watchllm-retries')).toBe('3');
    expect(s.fake.calls).toHaveLength(5);
  });

  test('a fallback model gets retries of its own', async () => {
    for (let i = 0; i < 4; i++) s.fake.next({ status: 503, retryAfter: 0 });
    const response = await chat('gpt-4o');
    expect(response.status).toBe(200);
    expect(paths()).toEqual([...Array(3).fill('/v1/chat/completions 503'), '/v1/messages 503', '/v1/messages 200']);
    expect(response.headers.get('x-watchllm-retries')).toBe('3');
  });

  test('streams are retried before anything reached the client: the SDK reads one whole stream', async () => {
    s.fake.next({ status: 502, retryAfter: 0 });
    s.fake.next({ text: 'streamed after a retry', chunks: 3 });
    const stream = await gw.chat.completions.create({ ...ask('gpt-4o-mini'), stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('streamed after a retry');
    expect(usage?.completion_tokens).toBe(4);
    expect(paths()).toEqual(['/v1/chat/completions 502', '/v1/chat/completions 200']);
  });

  test('an unreachable provider is retried, then the client gets the 502', async () => {
    const response = await chat('llama-3.1-8b-instant');
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
    const x = await lastEvent();
    expect(x.outcome).toBe('upstream_unreachable');
    expect(x.attempts.map((a) => `${a.model} ${a.result} ${a.why}`)).toEqual(Array(2).fill('groq/llama-3.1-8b-instant retried upstream_unreachable'));
  });

  test('Anthropic clients get retries too (529 overloaded)', async () => {
    s.fake.next({ status: 529, retryAfter: 0 });
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: KEY, maxRetries: 0 });
    const { data, response } = await anthropic.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    expect(data.content[0]?.type === 'text' && data.content[0].text).toContain('Hello from fake');
    expect(response.headers.get('x-watchllm-retries')).toBe('1');
    expect(paths()).toEqual(['/v1/messages 529', '/v1/messages 200']);
  });
});

describe('what is never retried', () => {
  test('an error about the request itself (400, 401, 404) goes back at once', async () => {
    s.fake.next({ status: 400, errorMessage: 'bad temperature' });
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(400);
    expect(paths()).toEqual(['/v1/chat/completions 400']);
    expect((await lastEvent()).attempts).toEqual([]);
  });

  test("OpenAI's 429 insufficient_quota does not pass with time: not retried", async () => {
    s.fake.next({ status: 429, retryAfter: 0, errorType: 'insufficient_quota', errorMessage: 'You exceeded your current quota' });
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(429);
    expect(paths()).toEqual(['/v1/chat/completions 429']);
  });

  test('a prompt too long for the window is not retried on the same model', async () => {
    s.fake.next({ contextWindow: 1 });
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('context_length_exceeded');
    expect(paths()).toEqual(['/v1/chat/completions 400']);
  });
});

describe('x-watchllm-retries', () => {
  test('0 turns retries off for the call; a number overrides the config', async () => {
    s.fake.next({ status: 503, retryAfter: 0 });
    expect((await chat('gpt-4o-mini', { 'x-watchllm-retries': '0' })).status).toBe(503);
    expect(paths()).toEqual(['/v1/chat/completions 503']);

    s.fake.reset();
    for (let i = 0; i < 4; i++) s.fake.next({ status: 503, retryAfter: 0 });
    const response = await chat('gpt-4o-mini', { 'x-watchllm-retries': '4' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-watchllm-retries')).toBe('4');
    expect(s.fake.calls).toHaveLength(5);
  });

  test('a value above retries.max_per_call is a 400 naming the header, recorded, and nothing is sent', async () => {
    const before = s.events.length;
    // more than retries.max_per_call: the operator's bound holds
    const response = await chat('gpt-4o-mini', { 'x-watchllm-retries': '5' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-watchllm-retries', message: expect.stringContaining('0 to 4') } });
    expect(s.fake.calls).toHaveLength(0);
    const [x] = (await s.waitForEvents(before + 1)).slice(before);
    expect(x).toMatchObject({ outcome: 'invalid' });
  });
});

describe('retries and the accounting of the call', () => {
  test('a retried call counts once against request limits', async () => {
    for (let i = 0; i < 2; i++) {
      s.fake.next({ status: 503, retryAfter: 0 });
      s.fake.next({});
      expect((await chat('gpt-4o-mini', {}, LIMITED)).status).toBe(200);
    }
    expect(s.fake.calls).toHaveLength(4);
    const refused = await chat('gpt-4o-mini', {}, LIMITED);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/requests/);
    expect(s.fake.calls).toHaveLength(4);
  });

  test('a client that goes away during the wait ends the call there: no retry is sent', async () => {
    s.fake.next({ status: 503, retryAfter: 2 });
    const before = s.events.length;
    const fallbacksBefore = await fallbacksFailed();
    const aborted = new AbortController();
    const pending = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(ask('gpt-4o-mini')),
      signal: aborted.signal,
    }).catch((e: unknown) => e);
    // the first try has failed: the gateway now waits the two seconds the provider asked for
    for (let i = 0; i < 100 && s.fake.calls[0]?.status !== 503; i++) await new Promise((r) => setTimeout(r, 10));
    expect(paths()).toEqual(['/v1/chat/completions 503']);
    aborted.abort();
    expect(await pending).toBeInstanceOf(Error);
    const [x] = (await s.waitForEvents(before + 1)).slice(before);
    expect(x?.outcome).toBe('client_closed');
    // the try failed and was not retried: the client left first; no fallback either
    expect(x?.attempts.map((a) => a.result)).toEqual(['failed']);
    expect(attemptText(x!.attempts[0]!)).toMatch(/retry abandoned/);
    expect(await fallbacksFailed()).toBe(fallbacksBefore);
    // it ended when the client left, not after the wait
    expect(durations(x!).latencyMs).toBeLessThan(2000);
    expect(s.fake.calls).toHaveLength(1);
  });
});
