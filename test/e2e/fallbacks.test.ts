/**
 * Fallbacks: a call whose provider fails before answering (503, 429, 529, unreachable) is tried on
 * the next model of its chain (`fallbacks:` in watchllm.yaml, or `x-watchllm-fallbacks`), through
 * the same checks, with one event per call that lists what was tried. A failure about the request
 * itself is never retried elsewhere, and a caller's own provider key never leaves its provider.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { freePort } from '../support/ports.ts';
import { startStack, type Stack } from './harness.ts';
import { requestIdOf, storedRows } from './events-support.ts';
import { get, signIn, testId } from '../console/support.ts';
import { eventsOf } from './events-support.ts';
import { FALLBACKS_LAST_DAY } from './readme-sql.ts';

const KEY = 'wl_fallbacks_0123456789abcdefghij';
const LIMITED = 'wl_fallbacks_limited_0123456789abc';
const SCOPED = 'wl_fallbacks_scoped_0123456789abcd';
const LIMITED_5 = 'wl_fallbacks_limited5_0123456789a';
const ADMIN = 'admin-token-fallbacks-0123456789';

let s: Stack;
let gw: OpenAI;

beforeAll(async () => {
  const closed = await freePort();
  s = await startStack({
    clickhouse: true,
    yaml: (fakeUrl) => [
      'keys:',
      `  - { name: app, project: acme, key: ${KEY} }`,
      `  - { name: limited, project: acme, key: ${LIMITED}, limits: { rpm: 2 } }`,
      `  - { name: limited-5, project: acme, key: ${LIMITED_5}, limits: { rpm: 5 } }`,
      `  - { name: scoped, project: acme, key: ${SCOPED}, allowed_models: ["gpt-*"] }`,
      'limits:',
      '  models: { "claude-sonnet*": { rpm: 1000 } }',
      'fallbacks:',
      '  gpt-4o: [claude-sonnet-4-5]',
      '  "gpt-4.1*": [gpt-4o-mini, claude-haiku-4-5]',
      '  llama-3.1-8b-instant: [gpt-4o-mini]',
      '  o3-mini: [claude-3-opus-latest, gpt-4o-mini]',
      'balance:',
      '  gpt-4-turbo:',
      '    - { model: openai/gpt-4-turbo, weight: 3 }',
      '    - { model: openai-eu/gpt-4-turbo, weight: 1 }',
      '  mixed-model: [{ model: openai/gpt-4o-mini }, { model: anthropic/claude-haiku-4-5 }]',
      'policies:',
      '  - { name: no-opus, deny_models: ["claude-3-opus*"], action: deny }',
      '  - { name: private-haiku, match: { model: "claude-3-5-haiku*" }, stored: drop }',
      '  - { name: clamp-nano, match: { model: "gpt-4.1-nano" }, action: rewrite, rewrite: { clamp_max_tokens: 50 } }',
      '  - { name: sonnet-37-to-haiku, match: { model: "claude-3-7-sonnet*" }, action: rewrite, rewrite: { set_model: claude-haiku-4-5 } }',
      '  - { name: mask-mail-o1, match: { model: "o1*" }, detect: [email], action: redact }',
      '  - { name: mask-mail-turbo, match: { model: "gpt-4-turbo" }, detect: [email], action: redact }',
      'providers:',
      `  groq: { base_url: "http://127.0.0.1:${closed}/v1", models: ["llama-*"] }`,
      `  openai-eu: { kind: openai, base_url: "${fakeUrl}/v1", api_key: sk-second-account }`,
    ].join('\n'),
    env: { WATCHLLM_ADMIN_TOKEN: ADMIN, WATCHLLM_OPENAI_API_KEY: 'sk-held-openai', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held', WATCHLLM_GROQ_API_KEY: 'gsk-held', WATCHLLM_UPSTREAM_TIMEOUT_MS: '2000' },
  });
  gw = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(() => s?.close());
beforeEach(() => s.fake.reset());

const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hello there' }] });
/** A chat call with the gateway key and a fallback chain in the header (fetch: every header is the test's). */
const withChain = (body: unknown, chain: string, more: Record<string, string> = {}) =>
  fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-watchllm-fallbacks': chain, ...more },
    body: JSON.stringify(body),
  });
const paths = () => s.fake.calls.map((c) => `${c.path} ${c.status}`);

async function rowOf(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const row = (await storedRows(s.gateway)).find((r) => r.request_id === id);
    if (row) return row as unknown as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no row for ${id}`);
}

describe('fallbacks from watchllm.yaml', () => {
  test('a 503 from OpenAI is answered by the next model (Anthropic, translated); one row lists the failed attempt', async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded, try later' });
    const { data, response } = await gw.chat.completions.create(ask('gpt-4o')).withResponse();
    expect(data.choices[0]?.message.content).toContain('Hello from fake');
    expect(data.model).toBe('claude-sonnet-4-5');
    expect(response.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-sonnet-4-5');
    expect(paths()).toEqual(['/v1/chat/completions 503', '/v1/messages 200']);
    // the gateway's own key for each provider went to that provider
    expect(s.fake.calls[1]?.headers['x-api-key']).toBe('sk-ant-held');

    const row = await rowOf(requestIdOf(response.headers));
    expect(row).toMatchObject({ outcome: 'success', status_code: 200, provider: 'anthropic', model: 'claude-sonnet-4-5', error_type: '' });
    expect(row['attempts']).toEqual([expect.stringMatching(/^openai\/gpt-4o: HTTP 503/)]);
    expect(Number(row['prompt_tokens'])).toBeGreaterThan(0);

    // the console's page of the call says what was tried first
    const page = await get(`${s.url}/console/requests/${requestIdOf(response.headers)}`, await signIn(s.url, ADMIN));
    expect(testId(page.html, 'attempts')).toMatch(/openai\/gpt-4o: HTTP 503/);
    expect(testId(page.html, 'model')).toContain('claude-sonnet-4-5');
  });

  test('streams fall back too: the client reads the fallback model stream whole, usage counted once', async () => {
    s.fake.next({ status: 529, errorMessage: 'overloaded' }); // Anthropic's "overloaded" status, here from OpenAI
    s.fake.next({ text: 'streamed from the second model', chunks: 4 });
    const stream = await gw.chat.completions.create({ ...ask('gpt-4.1-mini'), stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('streamed from the second model');
    expect(usage?.completion_tokens).toBe(5);
    expect(paths()).toEqual(['/v1/chat/completions 529', '/v1/chat/completions 200']);
    expect(s.fake.calls[1]?.body?.['model']).toBe('gpt-4o-mini');
  });

  test('an unreachable provider falls back; every model failing answers with the last failure', async () => {
    const { data, response } = await gw.chat.completions.create(ask('llama-3.1-8b-instant')).withResponse();
    expect(data.choices[0]?.message.content).toContain('Hello from fake');
    expect(response.headers.get('x-watchllm-fallback')).toBe('openai/gpt-4o-mini');
    const row = await rowOf(requestIdOf(response.headers));
    expect(row['attempts']).toEqual([expect.stringMatching(/^groq\/llama-3\.1-8b-instant: upstream_unreachable/)]);

    // the chain of gpt-4.1: gpt-4o-mini then claude-haiku-4-5, all three failing
    s.fake.reset();
    for (let i = 0; i < 3; i++) s.fake.next({ status: 503, errorMessage: `down ${i}` });
    const err = await gw.chat.completions.create(ask('gpt-4.1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiErr = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.status).toBe(503);
    expect(apiErr.message).toContain('down 2');
    expect(apiErr.headers?.get('x-watchllm-fallback')).toBe('anthropic/claude-haiku-4-5');
    expect(paths()).toEqual(['/v1/chat/completions 503', '/v1/chat/completions 503', '/v1/messages 503']);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^watchllm_fallbacks_total\{provider="groq",result="failed"\} 1$/m);
    expect(metrics).toMatch(/^watchllm_fallbacks_total\{provider="openai",result="failed"\} [2-9]$/m);
    // a provider's failures count as its errors whether a fallback rescued the call or not, each once
    expect(metrics).toMatch(/^watchllm_upstream_errors_total\{provider="groq",kind="upstream_unreachable"\} 1$/m);
    expect(metrics).toMatch(/^watchllm_upstream_errors_total\{provider="anthropic",kind="503"\} 1$/m);
    const failed = await rowOf(String(apiErr.headers?.get('x-watchllm-request-id')));
    expect(failed).toMatchObject({ outcome: 'upstream_error', status_code: 503, provider: 'anthropic', model: 'claude-haiku-4-5' });
    // every model that did not answer, the one whose error the client got included
    expect(failed['attempts']).toEqual([
      expect.stringMatching(/^openai\/gpt-4\.1: HTTP 503/),
      expect.stringMatching(/^openai\/gpt-4o-mini: HTTP 503/),
      expect.stringMatching(/^anthropic\/claude-haiku-4-5: HTTP 503/),
    ]);
  });

  test('a second account of the same provider (declared with kind: openai) takes over on a 429, priced like OpenAI', async () => {
    s.fake.next({ status: 429, errorMessage: 'rate limit reached for this organization', retryAfter: 20 });
    const r = await withChain(ask('gpt-4o'), 'openai-eu/gpt-4o');
    expect(r.status).toBe(200);
    expect(s.fake.calls.map((c) => c.headers['authorization'])).toEqual(['Bearer sk-held-openai', 'Bearer sk-second-account']);
    const row = await rowOf(requestIdOf(r.headers));
    expect(row).toMatchObject({ provider: 'openai-eu', upstream_model: 'gpt-4o', priced: true });
    expect(Number(row['cost_usd'])).toBeGreaterThan(0);
  });

  test('a prompt too long for the model moves to the next one (OpenAI context_length_exceeded, Anthropic "prompt is too long")', async () => {
    s.fake.next({ contextWindow: 1 });
    const r = await withChain(ask('gpt-4o-mini'), 'claude-sonnet-4-5, gpt-4.1');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-sonnet-4-5');
    const row = await rowOf(requestIdOf(r.headers));
    expect(row['attempts']).toEqual(['openai/gpt-4o-mini: HTTP 400 context_length_exceeded']);

    s.fake.reset();
    s.fake.next({ contextWindow: 1 });
    const viaClaude = await withChain(ask('claude-sonnet-4-5'), 'gpt-4.1');
    expect(viaClaude.status).toBe(200);
    expect(viaClaude.headers.get('x-watchllm-fallback')).toBe('openai/gpt-4.1');
    expect(paths()).toEqual(['/v1/messages 400', '/v1/chat/completions 200']);
  });

  test('an error about the request itself (400, 401) is passed on as is, never tried elsewhere', async () => {
    s.fake.next({ status: 400, errorMessage: 'bad parameter', errorType: 'invalid_request_error' });
    const err = await gw.chat.completions.create(ask('gpt-4o')).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect(paths()).toEqual(['/v1/chat/completions 400']);
  });
});

describe('what a fallback may not do', () => {
  test("a caller's own provider key is never sent to another provider: the chain's Anthropic model is skipped", async () => {
    const byok = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-callers-own-openai-key', maxRetries: 0 });
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const err = (await byok.chat.completions.create(ask('gpt-4o')).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(503);
    expect(err.message).toContain('overloaded');
    expect(paths()).toEqual(['/v1/chat/completions 503']);
    const row = await rowOf(String(err.headers?.get('x-watchllm-request-id')));
    expect(row).toMatchObject({ outcome: 'upstream_error', provider: 'openai', model: 'gpt-4o' });
    expect(row['attempts']).toEqual([
      expect.stringMatching(/^openai\/gpt-4o: HTTP 503/),
      expect.stringMatching(/^anthropic\/claude-sonnet-4-5: skipped: the caller's provider key is for 'openai'/),
    ]);
    expect(JSON.stringify(row)).not.toContain('sk-callers-own-openai-key');
  });

  test("a gateway key's model scope holds for fallbacks", async () => {
    const scoped = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: SCOPED, maxRetries: 0 });
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const err = (await scoped.chat.completions.create(ask('gpt-4o')).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(503);
    expect(paths()).toEqual(['/v1/chat/completions 503']);
  });

  test('a model the policies deny is skipped, and the next one answers', async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const { response } = await gw.chat.completions.create(ask('o3-mini')).withResponse();
    expect(response.headers.get('x-watchllm-fallback')).toBe('openai/gpt-4o-mini');
    expect(s.fake.calls.map((c) => c.body?.['model'])).toEqual(['o3-mini', 'gpt-4o-mini']);
    const row = await rowOf(requestIdOf(response.headers));
    expect(row['attempts']).toEqual([expect.stringMatching(/^openai\/o3-mini: HTTP 503/), expect.stringMatching(/^anthropic\/claude-3-opus-latest: skipped: .*no-opus/)]);
    expect(row).toMatchObject({ outcome: 'success', model: 'gpt-4o-mini' });
  });

  test("after a fallback the request headers still describe the key's limit, the one the client will hit first", async () => {
    const limited = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: LIMITED_5, maxRetries: 0 });
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const { response } = await limited.chat.completions.create(ask('gpt-4o')).withResponse();
    expect(response.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-sonnet-4-5');
    expect([response.headers.get('x-ratelimit-limit-requests'), response.headers.get('x-ratelimit-remaining-requests')]).toEqual(['5', '4']);
  });

  test('a call with a fallback counts once against request limits', async () => {
    const limited = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: LIMITED, maxRetries: 0 });
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    await limited.chat.completions.create(ask('gpt-4o'));
    await limited.chat.completions.create(ask('gpt-4o-mini'));
    const third = (await limited.chat.completions.create(ask('gpt-4o-mini')).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(third.status).toBe(429);
    expect(paths()).toEqual(['/v1/chat/completions 503', '/v1/messages 200', '/v1/chat/completions 200']);
  });
});

describe('a fallback model under the policies and the accounting of a first model', () => {
  const post = withChain;

  test("a storage policy selecting the fallback model holds: the call's bodies are not stored", async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const r = await post({ ...ask('gpt-4o'), stream: true }, 'claude-3-5-haiku-latest');
    expect(r.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-3-5-haiku-latest');
    expect(await r.text()).toContain('data: [DONE]');
    const row = await rowOf(requestIdOf(r.headers));
    expect(row).toMatchObject({ provider: 'anthropic', request_body: '', response_body: '' });
  });

  test("a redaction for the fallback model is applied to what it is sent, and recorded", async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const r = await post({ model: 'gpt-4o', messages: [{ role: 'user', content: 'mail jane@example.com please' }] }, 'o1-mini');
    expect(r.status).toBe(200);
    expect(s.fake.calls[0]?.rawBody).toContain('jane@example.com');
    expect(s.fake.calls[1]?.rawBody).not.toContain('jane@example.com');
    expect(s.fake.calls[1]?.rawBody).toContain('[EMAIL_1]');
    const row = await rowOf(requestIdOf(r.headers));
    expect(row).toMatchObject({ model: 'o1-mini', policy_outcome: 'redacted' });
    expect(String(row['policy_matches'])).toContain('mask-mail-o1');
    expect(String(row['request_body'])).not.toContain('jane@example.com');
  });

  test("a rewrite applies to its own model only: the next fallback is sent the first model's body", async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    s.fake.next({ status: 503, errorMessage: 'overloaded too' });
    const r = await post({ ...ask('gpt-4o'), max_tokens: 500 }, 'gpt-4.1-nano, gpt-4o-mini');
    expect(r.status).toBe(200);
    expect(s.fake.calls.map((c) => [c.body?.['model'], c.body?.['max_tokens']])).toEqual([
      ['gpt-4o', 500],
      ['gpt-4.1-nano', 50],
      ['gpt-4o-mini', 500],
    ]);
    const row = await rowOf(requestIdOf(r.headers));
    expect(JSON.parse(String(row['request_body']))).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 500 });
  });

  test('a set_model rewrite sends the fallback to the model the policy names', async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const r = await post(ask('gpt-4o'), 'claude-3-7-sonnet-latest');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-haiku-4-5');
    expect(s.fake.calls[1]?.body?.['model']).toBe('claude-haiku-4-5');
  });

  test("a fallback model's own 4xx (its credential refused) is noted; the client gets the failure a fallback could cure", async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    s.fake.next({ status: 401, errorType: 'authentication_error', errorMessage: 'invalid x-api-key' });
    const r = await post(ask('gpt-4o'), 'claude-sonnet-4-5');
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain('overloaded');
    const row = await rowOf(requestIdOf(r.headers));
    expect(row).toMatchObject({ provider: 'openai', model: 'gpt-4o', status_code: 503 });
    expect(row['attempts']).toEqual([expect.stringMatching(/^openai\/gpt-4o: HTTP 503/), expect.stringMatching(/^anthropic\/claude-sonnet-4-5: HTTP 401/)]);
  });

  test('x-watchllm-timeout-ms is kept to the millisecond, and the time spent on failed attempts counts as upstream time', async () => {
    s.fake.next({ hangMs: 700 });
    const r = await post(ask('gpt-4o'), 'gpt-4o-mini', { 'x-watchllm-timeout-ms': '250' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-fallback')).toBe('openai/gpt-4o-mini');
    const row = await rowOf(requestIdOf(r.headers));
    expect(row['attempts']).toEqual(['openai/gpt-4o: upstream_timeout']);
    // the 250 ms given to gpt-4o are upstream time, not the gateway's own
    expect(Number(row['upstream_ms'])).toBeGreaterThanOrEqual(250);
    const timing = r.headers.get('server-timing') ?? '';
    const upstream = Number(/upstream;dur=([\d.]+)/.exec(timing)?.[1]);
    expect(upstream).toBeGreaterThanOrEqual(250);
    expect(Number(/gateway;dur=([\d.]+)/.exec(timing)?.[1])).toBeLessThan(upstream);
  });
});

describe('x-watchllm-fallbacks', () => {
  const post = (model: string, header: string, more: Record<string, string> = {}) => withChain(ask(model), header, more);

  test('with x-watchllm-timeout-ms, a provider slow to answer is given up on in time and the next model answers', async () => {
    // the gateway's own upstream_timeout_ms (2000) would wait out this provider's 1.5 s
    s.fake.next({ hangMs: 1500 });
    const r = await post('gpt-4o', 'gpt-4o-mini', { 'x-watchllm-timeout-ms': '200' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-fallback')).toBe('openai/gpt-4o-mini');
    const row = await rowOf(requestIdOf(r.headers));
    expect(row['attempts']).toEqual(['openai/gpt-4o: upstream_timeout']);

    // alone, the same wait is a 504 timeout
    s.fake.next({ hangMs: 1500 });
    const alone = await post('gpt-4o', 'none', { 'x-watchllm-timeout-ms': '200' });
    expect(alone.status).toBe(504);
    expect(((await alone.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
  });

  test.each(['0', 'soon', '2001', '1.5'])('x-watchllm-timeout-ms: %s is a 400 naming the header (1 to upstream_timeout_ms)', async (value) => {
    const r = await post('gpt-4o', 'none', { 'x-watchllm-timeout-ms': value });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { param: string } }).error.param).toBe('x-watchllm-timeout-ms');
    expect(s.fake.calls).toHaveLength(0);
  });

  test('names the chain for one call, in place of the config', async () => {
    s.fake.next({ status: 429, errorMessage: 'rate limited', retryAfter: 3 });
    const r = await post('gpt-4o', 'gpt-4o-mini');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-watchllm-fallback')).toBe('openai/gpt-4o-mini');
    expect(s.fake.calls.map((c) => c.body?.['model'])).toEqual(['gpt-4o', 'gpt-4o-mini']);
  });

  test('none turns the config chain off: the provider error comes back as it was', async () => {
    s.fake.next({ status: 503, errorMessage: 'overloaded' });
    const r = await post('gpt-4o', 'none');
    expect(r.status).toBe(503);
    expect(r.headers.get('x-watchllm-fallback')).toBeNull();
    expect(paths()).toEqual(['/v1/chat/completions 503']);
  });

  test('the Anthropic API: a model whose provider cannot serve it is skipped, naming why', async () => {
    s.fake.next({ status: 529, errorMessage: 'overloaded' });
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'x-watchllm-fallbacks': 'gpt-4o-mini, claude-haiku-4-5' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { model: string }).model).toBe('claude-haiku-4-5');
    expect(paths()).toEqual(['/v1/messages 529', '/v1/messages 200']);
    const row = await rowOf(requestIdOf(r.headers));
    expect(row['attempts']).toEqual([
      'anthropic/claude-sonnet-4-5: HTTP 529 overloaded_error',
      expect.stringMatching(/^openai\/gpt-4o-mini: skipped: Provider 'openai' does not serve \/v1\/messages/),
    ]);
  });

  test('more than five models is a 400 naming the header, before any provider is called', async () => {
    const r = await post('gpt-4o', 'a,b,c,d,e,f');
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { param: string } }).error.param).toBe('x-watchllm-fallbacks');
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe("the README's fallback query", () => {
  test('counts the calls that needed a fallback, by the model tried first and who answered', async () => {
    const { client, writer } = eventsOf(s.gateway);
    await writer.flush();
    const rows = await (await client.query({ query: FALLBACKS_LAST_DAY, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    const byFirst = (first: string, by: string) => rows.find((r) => r['first_tried'] === first && r['answered_by'] === by);
    // from the tests above: gpt-4o failed first and Anthropic answered (the first test, the limits test)
    expect(byFirst('openai/gpt-4o', 'anthropic')).toMatchObject({ answered: expect.anything() });
    expect(Number(byFirst('openai/gpt-4o', 'anthropic')?.['calls'])).toBeGreaterThanOrEqual(2);
    // the call where every model failed: counted, not answered
    expect(byFirst('openai/gpt-4.1', 'anthropic')).toMatchObject({ calls: expect.anything() });
    expect(Number(byFirst('openai/gpt-4.1', 'anthropic')?.['answered'])).toBe(0);
    // calls without a fallback are not there
    expect(rows.every((r) => r['first_tried'] !== '')).toBe(true);
  });
});

describe('load balancing (balance:)', () => {
  const accounts = () => s.fake.calls.map((c) => (c.headers['authorization'] === 'Bearer sk-second-account' ? 'eu' : 'us'));

  test('calls for a balanced model are spread over its targets by weight, recorded as the model asked for', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { response } = await gw.chat.completions.create(ask('gpt-4-turbo')).withResponse();
      ids.push(requestIdOf(response.headers));
    }
    expect(accounts()).toEqual(['us', 'us', 'eu', 'us', 'us', 'us', 'eu', 'us']);
    const third = await rowOf(ids[2]!);
    expect(third).toMatchObject({ model: 'gpt-4-turbo', provider: 'openai-eu', upstream_model: 'gpt-4-turbo', priced: true });
  });

  test('the target picked failing, the other one answers (the targets not picked are its fallbacks)', async () => {
    s.fake.next({ status: 429, errorMessage: 'rate limit reached for this organization' });
    const { response } = await gw.chat.completions.create(ask('gpt-4-turbo')).withResponse();
    expect(response.headers.get('x-watchllm-fallback')).toBe('openai-eu/gpt-4-turbo');
    expect(accounts()).toEqual(['us', 'eu']);
  });

  test('the other target answering, the call is still recorded and checked as the name asked: its answer policies apply', async () => {
    s.fake.next({ status: 503 });
    s.fake.next({ text: 'write to jane@example.com today' });
    const { data, response } = await gw.chat.completions.create(ask('gpt-4-turbo')).withResponse();
    expect(response.headers.get('x-watchllm-fallback')).toMatch(/gpt-4-turbo$/);
    expect(data.choices[0]?.message.content).toBe('write to [EMAIL_1] today');
    expect(await rowOf(requestIdOf(response.headers))).toMatchObject({ model: 'gpt-4-turbo', policy_outcome: 'redacted' });
  });

  test('on the Anthropic API, a target it cannot reach (an OpenAI model) is skipped for one it can', async () => {
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: KEY, maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      const m = await anthropic.messages.create({ model: 'mixed-model', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      expect(m.content[0]?.type).toBe('text');
    }
    expect(s.fake.calls.map((c) => `${c.path} ${String(c.body?.['model'])}`)).toEqual(Array(3).fill('/v1/messages claude-haiku-4-5'));
  });

  test('a call naming its provider (x-watchllm-provider), or bringing its own provider key, is not balanced', async () => {
    for (let i = 0; i < 4; i++) await gw.chat.completions.create(ask('gpt-4-turbo'), { headers: { 'x-watchllm-provider': 'openai' } });
    expect(accounts()).toEqual(['us', 'us', 'us', 'us']);
    s.fake.reset();
    const byok = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-callers-own-key', maxRetries: 0 });
    const providers: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const { response } = await byok.chat.completions.create(ask('gpt-4-turbo')).withResponse();
      providers.push((await rowOf(requestIdOf(response.headers)))['provider']);
    }
    expect(providers).toEqual(['openai', 'openai', 'openai', 'openai']);
    expect(s.fake.calls.map((c) => c.headers['authorization'])).toEqual(Array(4).fill('Bearer sk-callers-own-key'));
  });
});
