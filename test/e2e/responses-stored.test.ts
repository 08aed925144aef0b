/**
 * The Responses API's stored responses through the gateway, with the official openai SDK:
 * `responses.retrieve`, `delete`, `cancel` and `inputItems.list` reach the provider that holds the
 * response (x-watchllm-provider, else the default provider) with the caller's credentials, are
 * recorded as `responses` calls counted against rpm only, and the answer policies treat a response
 * read back as they treated it when it was made. A background response's usage is recorded once,
 * by the first call that sees it finished.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const APP = 'wl_stored_app_0123456789abcdef';
const GROQ_ONLY = 'wl_stored_groq_0123456789abcde';
const GPT_ONLY = 'wl_stored_gpt_0123456789abcdef';
const TIGHT = 'wl_stored_tight_0123456789abcd';
const BUDGETED = 'wl_stored_budget_0123456789abc';
const EMAIL = 'jane@example.com';
const SECRET = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';

const YAML = `
keys:
  - { name: app, project: acme, key: ${APP} }
  - { name: groq-only, project: acme, key: ${GROQ_ONLY}, allowed_models: ["groq/*"] }
  - { name: gpt-only, project: acme, key: ${GPT_ONLY}, allowed_models: ["gpt-*"] }
  - { name: tight, project: tight, key: ${TIGHT}, limits: { rpm: 3 } }
  - { name: budgeted, project: budgeted, key: ${BUDGETED}, budget: { usd: 0.15, period: month } }
policies:
  - name: mask-mail-gpt
    match: { model: "gpt-4o*" }
    detect: [email]
    action: redact
    stage: post
  - name: no-keys-out
    detect: [api_key]
    action: deny
    stage: post
`;

let s: Stack;
const client = (apiKey: string, headers: Record<string, string> = {}) =>
  new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers });
let byok: OpenAI;

beforeAll(async () => {
  s = await startStack({ yaml: YAML, env: (fake) => ({ WATCHLLM_OPENAI_API_KEY: 'sk-held', WATCHLLM_AZURE_BASE_URL: fake }) });
  byok = client('sk-byok');
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

describe('a stored response, with the caller’s own key', () => {
  test('retrieve, input items page by page, delete, then retrieve: NotFoundError', async () => {
    const input = [
      { role: 'user' as const, content: 'one' },
      { role: 'assistant' as const, content: 'two' },
      { role: 'user' as const, content: 'three' },
    ];
    const made = await byok.responses.create({ model: 'gpt-4o-mini', input, store: true });
    expect(made).toMatchObject({ object: 'response', status: 'completed', background: false });

    const got = await byok.responses.retrieve(made.id);
    expect(got).toEqual(made);

    // two items a page, oldest first: the SDK follows has_more with `after`
    const texts: string[] = [];
    for await (const item of byok.responses.inputItems.list(made.id, { limit: 2, order: 'asc' })) {
      texts.push(item.type === 'message' ? JSON.stringify(item.content) : item.type);
    }
    expect(texts.map((t) => /"text":"(\w+)"/.exec(t)?.[1])).toEqual(['one', 'two', 'three']);

    await byok.responses.delete(made.id);
    const err = await byok.responses.retrieve(made.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, error: { message: `Response with id '${made.id}' not found.`, type: 'invalid_request_error' } });

    const calls = s.fake.calls.map((c) => `${c.method} ${c.path}${Object.keys(c.query).length ? `?${new URLSearchParams(c.query).toString()}` : ''}`);
    const firstItem = s.fake.calls[2]?.query;
    expect(calls).toEqual([
      'POST /v1/responses',
      `GET /v1/responses/${made.id}`,
      `GET /v1/responses/${made.id}/input_items?limit=2&order=asc`,
      `GET /v1/responses/${made.id}/input_items?${new URLSearchParams({ limit: '2', order: 'asc', after: s.fake.calls[3]?.query['after'] ?? '' }).toString()}`,
      `DELETE /v1/responses/${made.id}`,
      `GET /v1/responses/${made.id}`,
    ]);
    expect(firstItem).toEqual({ limit: '2', order: 'asc' });
    for (const c of s.fake.calls) expect(c.headers['authorization']).toBe('Bearer sk-byok');
    expect(s.fake.calls.slice(1).map((c) => c.rawBody)).toEqual(['', '', '', '', '']);

    const events = await s.waitForEvents(6);
    expect(events.map((x) => [x.method, x.path.split('?')[0], x.endpoint, x.response.status, x.outcome])).toEqual([
      ['POST', '/v1/responses', 'responses', 200, 'success'],
      ['GET', `/v1/responses/${made.id}`, 'responses', 200, 'success'],
      ['GET', `/v1/responses/${made.id}/input_items`, 'responses', 200, 'success'],
      ['GET', `/v1/responses/${made.id}/input_items`, 'responses', 200, 'success'],
      ['DELETE', `/v1/responses/${made.id}`, 'responses', 200, 'success'],
      ['GET', `/v1/responses/${made.id}`, 'responses', 404, 'upstream_error'],
    ]);
    // the answer's usage was recorded by the POST; reading it back generates nothing, costs nothing
    expect(events[0]).toMatchObject({ response: { usageSource: 'provider' }, costUsd: expect.any(Number) });
    for (const x of events.slice(1)) {
      expect(x).toMatchObject({ auth: { mode: 'byok' }, route: { provider: 'openai' }, response: { usage: null, usageSource: 'none' }, costUsd: null });
    }
    // a retrieved response is recorded as the model that answered it
    expect(events[1]).toMatchObject({ request: { model: 'gpt-4o-mini' }, route: { model: 'gpt-4o-mini' }, response: { finishReason: 'completed' } });
    expect(events[4]).toMatchObject({ request: { model: null }, route: { model: '' } });
  });

  test('with a gateway key: the key the gateway holds; a key scoped to another provider is refused before anything is sent', async () => {
    const made = await client(APP).responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    expect(await client(APP).responses.retrieve(made.id)).toMatchObject({ id: made.id, status: 'completed' });
    expect(s.fake.calls[1]?.headers['authorization']).toBe('Bearer sk-held');
    expect(await client(GPT_ONLY).responses.retrieve(made.id)).toMatchObject({ id: made.id });

    const refused = await client(GROQ_ONLY).responses.retrieve(made.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(refused).toMatchObject({ status: 403, code: 'model_not_allowed' });
    expect(s.fake.calls).toHaveLength(3);
    const events = await s.waitForEvents(4);
    expect(events[1]).toMatchObject({ auth: { mode: 'gateway_key', keyName: 'app', project: 'acme' }, outcome: 'success' });
    expect(events[3]).toMatchObject({ auth: { keyName: 'groq-only' }, outcome: 'denied_policy', response: { status: 403 } });
  });

  test('count against rpm like any call, and are never cached', async () => {
    const tight = client(TIGHT, { 'x-watchllm-cache': 'on' });
    const made = await tight.responses.create({ model: 'gpt-4o-mini', input: 'hi', temperature: 0 });
    await tight.responses.retrieve(made.id);
    await tight.responses.retrieve(made.id);
    const refused = await tight.responses.retrieve(made.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(s.fake.calls.map((c) => c.method)).toEqual(['POST', 'GET', 'GET']);
    const events = await s.waitForEvents(4);
    expect(events.slice(1, 3).map((x) => x.cache?.status)).toEqual(['bypass', 'bypass']);
    expect(events[3]).toMatchObject({ outcome: 'denied_limit', limits: { refused: { scope: 'key', kind: 'requests' } } });
  });

  test('resuming a stream (stream=true) is refused for now, before anything is sent', async () => {
    const err = await byok.responses.retrieve('resp_1', { stream: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'stream' });
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('which provider holds it', () => {
  test('x-watchllm-provider: azure — its v1 API, with api-key', async () => {
    const azure = client('az-key', { 'x-watchllm-provider': 'azure' });
    const made = await azure.responses.create({ model: 'gpt-4o', input: 'hi' });
    expect(await azure.responses.retrieve(made.id)).toMatchObject({ id: made.id, status: 'completed' });
    expect(s.fake.calls[1]).toMatchObject({ method: 'GET', path: `/openai/v1/responses/${made.id}`, query: {}, headers: { 'api-key': 'az-key' } });
    // OpenAI does not hold Azure's responses: the default provider answers its 404
    await expect(byok.responses.retrieve(made.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const [, retrieved] = await s.waitForEvents(2);
    expect(retrieved).toMatchObject({ route: { provider: 'azure' }, outcome: 'success' });
  });

  test('a provider without the Responses API: 400 unsupported_endpoint naming the route', async () => {
    const err = await client('sk-ant', { 'x-watchllm-provider': 'anthropic' }).responses.delete('resp_1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_endpoint' });
    expect((err as Error).message).toContain("Provider 'anthropic' does not serve DELETE /v1/responses/{id}");
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('background responses', () => {
  test('queued, then retrieved finished: its usage and cost are recorded once, on the first retrieval that sees it', async () => {
    const made = await byok.responses.create({ model: 'gpt-4o-mini', input: 'count my words', background: true });
    expect(made).toMatchObject({ status: 'queued', background: true });
    expect(made.usage ?? null).toBeNull();
    const done = await byok.responses.retrieve(made.id);
    expect(done).toMatchObject({ status: 'completed', background: true, usage: { input_tokens: 3, output_tokens: 4 } });
    expect(await byok.responses.retrieve(made.id)).toEqual(done);

    const [post, first, again] = await s.waitForEvents(3);
    // nothing known yet: no estimate for a response not made
    expect(post).toMatchObject({ response: { finishReason: 'queued', usage: null, usageSource: 'none' }, costUsd: null });
    expect(first).toMatchObject({
      request: { model: 'gpt-4o-mini' },
      response: { finishReason: 'completed', usageSource: 'provider', usage: { promptTokens: 3, completionTokens: 4 } },
      costUsd: expect.any(Number),
    });
    expect(first!.costUsd).toBeGreaterThan(0);
    expect(again).toMatchObject({ response: { usage: null, usageSource: 'none' }, costUsd: null });
  });

  test("what a background call reserved is settled to its usage once it is known, not counted on top of it", async () => {
    const budgeted = client(BUDGETED);
    // gpt-4o: $10 per 1M output tokens, so 10,000 of them reserve $0.10 of the $0.15 budget
    const made = await budgeted.responses.create({ model: 'gpt-4o', input: 'count my words', background: true, max_output_tokens: 10_000 });
    expect((await budgeted.responses.retrieve(made.id)).status).toBe('completed');
    await s.waitForEvents(2);
    await new Promise((r) => setTimeout(r, 50)); // settlements are applied on the next turn
    // the same call again fits: the first used a few tokens, not its $0.10 worst case (plus them)
    const again = await budgeted.responses.create({ model: 'gpt-4o', input: 'count my words', max_output_tokens: 10_000 });
    expect(again.status).toBe('completed');
  });

  test('never answered from the cache: a second caller gets a response of its own', async () => {
    const cached = client('sk-byok', { 'x-watchllm-cache': 'on' });
    const body = { model: 'gpt-4o-mini', input: 'hi', background: true, temperature: 0 };
    const a = await cached.responses.create(body);
    const b = await cached.responses.create(body);
    expect(b.id).not.toBe(a.id);
    expect(s.fake.calls).toHaveLength(2);
    const events = await s.waitForEvents(2);
    expect(events.map((x) => x.cache?.status)).toEqual(['bypass', 'bypass']);
  });

  test('cancelled while in progress', async () => {
    s.fake.setDefault({ backgroundMs: 60_000 });
    const made = await byok.responses.create({ model: 'gpt-4o-mini', input: 'hi', background: true });
    expect(await byok.responses.retrieve(made.id)).toMatchObject({ status: 'in_progress' });
    const cancelled = await byok.responses.cancel(made.id);
    expect(cancelled).toMatchObject({ id: made.id, status: 'cancelled' });
    expect(s.fake.calls[2]).toMatchObject({ method: 'POST', path: `/v1/responses/${made.id}/cancel`, rawBody: '' });
    const events = await s.waitForEvents(3);
    expect(events[2]).toMatchObject({ method: 'POST', response: { status: 200, finishReason: 'cancelled' }, outcome: 'success' });

    // one made without background cannot be: the provider's 400, as it sent it
    const sync = await byok.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    await expect(byok.responses.cancel(sync.id)).rejects.toMatchObject({ status: 400, error: { message: 'Only responses created with background=true can be cancelled.' } });
  });
});

describe('answer policies apply to a response read back', () => {
  test('an enforced redaction for the model that answered masks the retrieved answer as it masked the created one', async () => {
    s.fake.setDefault({ text: `Write to ${EMAIL} today.` });
    const made = await byok.responses.create({ model: 'gpt-4o-mini', input: 'who?' });
    expect(made.output_text).toBe('Write to [EMAIL_1] today.');
    const got = await byok.responses.retrieve(made.id);
    expect(got.output_text).toBe('Write to [EMAIL_1] today.');
    expect(JSON.stringify(got)).not.toContain(EMAIL);
    const [, x] = await s.waitForEvents(2);
    expect(x).toMatchObject({ policies: { outcome: 'redacted' } });
    expect(x!.response.body).not.toContain(EMAIL);
  });

  test('an enforced deny refuses a retrieved answer that holds what it denies', async () => {
    s.fake.setDefault({ text: `The key is ${SECRET}` });
    const made = await byok.responses.create({ model: 'gpt-4.1', input: 'key?', background: true });
    const err = await byok.responses.retrieve(made.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(JSON.stringify(err)).not.toContain(SECRET);
    const [, x] = await s.waitForEvents(2);
    expect(x).toMatchObject({ outcome: 'denied_policy', policies: { outcome: 'denied' } });
  });
});

describe('routes', () => {
  test('other methods on a stored response are 405 naming the ones it takes; deeper paths 404', async () => {
    const put = await fetch(`${s.url}/v1/responses/resp_1`, { method: 'PUT', headers: { authorization: 'Bearer sk-byok' } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, DELETE');
    const deep = await fetch(`${s.url}/v1/responses/resp_1/input_items/x`, { headers: { authorization: 'Bearer sk-byok' } });
    expect(deep.status).toBe(404);
    expect(s.fake.calls).toHaveLength(0);
  });
});
