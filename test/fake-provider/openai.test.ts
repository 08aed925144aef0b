/**
 * The fake provider checked with the official `openai` SDK as its client: if the SDK parses it,
 * the gateway's tests run against the real wire format.
 */
import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startFakeProvider, type FakeProvider } from './index.ts';

let fake: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeProvider();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};
const user = (content: string) => [{ role: 'user' as const, content }];

describe('chat completions', () => {
  test('answers the default text with usage counted in words', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: user('one two three') });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('gpt-4o');
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hello from fake gpt-4o' });
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(fake.calls[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200 });
    expect(fake.calls[0]?.headers.authorization).toBe('Bearer sk-test');
    expect(fake.calls[0]?.body).toMatchObject({ model: 'gpt-4o' });
  });

  test('reports cached and reasoning tokens inside prompt and completion totals', async () => {
    fake.next({ text: 'a b', usage: { cachedTokens: 10, reasoningTokens: 5 } });
    const r = await client.chat.completions.create({ model: 'o3-mini', messages: user('x y z') });
    expect(r.usage).toMatchObject({
      prompt_tokens: 13, completion_tokens: 7, total_tokens: 20,
      prompt_tokens_details: { cached_tokens: 10 }, completion_tokens_details: { reasoning_tokens: 5 },
    });
  });

  test('streams without usage when include_usage is not asked', async () => {
    fake.next({ text: 'alpha beta gamma', chunks: 3 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: user('hi'), stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('alpha beta gamma');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && !('usage' in c))).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  test('streams usage:null on every chunk and a final usage chunk with include_usage', async () => {
    fake.next({ text: 'alpha beta', chunks: 2 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o', messages: user('one two'), stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  test('omitUsage leaves usage out of the stream even when asked', async () => {
    fake.next({ omitUsage: true });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o', messages: user('hi'), stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  test('answers a tool call when tools are offered and the scenario asks', async () => {
    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: user('weather?'), tools: [weatherTool] });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(r.choices[0]?.message.content).toBeNull();
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(call?.id).toMatch(/^call_/);
  });

  test('answers text instead of a tool call when the request offers no tools', async () => {
    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: user('weather?') });
    expect(r.choices[0]?.message.tool_calls).toBeUndefined();
    expect(r.choices[0]?.message.content).toBe('Hello from fake gpt-4o');
  });

  test('streams tool call arguments in several pieces that the SDK reassembles', async () => {
    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } });
    const stream = client.chat.completions.stream({ model: 'gpt-4o', messages: user('weather?'), tools: [weatherTool] });
    let argDeltas = 0;
    stream.on('chunk', (c) => {
      if (c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments) argDeltas++;
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(argDeltas).toBeGreaterThan(1);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', unit: 'celsius' });
  });

  test('legacy completions answer JSON and stream text_completion objects', async () => {
    const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'say hi' });
    expect(r).toMatchObject({ object: 'text_completion', choices: [{ text: 'Hello from fake gpt-3.5-turbo-instruct', finish_reason: 'stop' }] });
    expect(r.usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
    const stream = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct', prompt: 'say hi', stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe('Hello from fake gpt-3.5-turbo-instruct');
    expect(usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });
});

describe('embeddings and models', () => {
  test('embeddings are deterministic unit vectors, identical in float and base64 form', async () => {
    // The SDK asks for base64 by default and decodes it; asking for float gets JSON numbers.
    const b64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'bye'] });
    const flt = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'bye'], encoding_format: 'float' });
    expect(fake.calls[0]?.body?.encoding_format).toBe('base64');
    expect(b64.data).toHaveLength(2);
    expect(b64.data[0]?.embedding).toHaveLength(1536);
    expect(b64.data[0]?.embedding).toEqual(flt.data[0]?.embedding);
    expect(b64.data[0]?.embedding).not.toEqual(b64.data[1]?.embedding);
    const norm = Math.hypot(...(flt.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    expect(flt.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  test('embeddings honour dimensions', async () => {
    const r = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'x', dimensions: 256, encoding_format: 'float' });
    expect(r.data[0]?.embedding).toHaveLength(256);
  });

  test('models lists ids and retrieves one', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toContain('gpt-4o');
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'system' });
    expect(await client.models.retrieve('gpt-4o-mini')).toMatchObject({ id: 'gpt-4o-mini', object: 'model' });
  });

  test('retrieving a model that does not exist is 404 model_not_found; an id with a slash is one model', async () => {
    const err = await client.models.retrieve('unknown-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    expect(await client.models.retrieve('meta-llama/Llama-3-8B')).toMatchObject({ id: 'meta-llama/Llama-3-8B', object: 'model' });
  });
});

describe('responses', () => {
  test('answers a completed response with output_text and usage', async () => {
    const r = await client.responses.create({ model: 'gpt-4.1', input: 'hello there', instructions: 'be brief' });
    expect(r).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-4.1', instructions: 'be brief' });
    expect(r.output_text).toBe('Hello from fake gpt-4.1');
    expect(r.usage).toMatchObject({ input_tokens: 4, output_tokens: 4, total_tokens: 8 });
  });

  test('streams named events the SDK accumulates into the final response', async () => {
    fake.next({ text: 'one two three' });
    const stream = client.responses.stream({ model: 'gpt-4.1', input: [{ role: 'user', content: 'hi you' }] });
    const types: string[] = [];
    let deltas = '';
    stream.on('event', (e) => types.push(e.type));
    stream.on('response.output_text.delta', (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    expect(deltas).toBe('one two three');
    expect(final.output_text).toBe('one two three');
    expect(final.usage).toMatchObject({ input_tokens: 2, output_tokens: 3 });
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_item.added');
    expect(types.at(-1)).toBe('response.completed');
  });

  test('streams a function call item when tools are offered', async () => {
    fake.next({ toolCall: { name: 'lookup', arguments: { q: 'x' } } });
    const stream = client.responses.stream({
      model: 'gpt-4.1', input: 'find x', tools: [{ type: 'function', name: 'lookup', parameters: {}, strict: false }],
    });
    const final = await stream.finalResponse();
    const item = final.output[0];
    expect(item?.type).toBe('function_call');
    expect(item?.type === 'function_call' && JSON.parse(item.arguments)).toEqual({ q: 'x' });
  });
});

describe('azure', () => {
  test('the AzureOpenAI client reaches a deployment with api-key and api-version', async () => {
    const azure = new AzureOpenAI({ apiKey: 'az-key', endpoint: fake.url, apiVersion: '2024-10-21', deployment: 'my-gpt', maxRetries: 0 });
    const r = await azure.chat.completions.create({ model: 'gpt-4o', messages: user('hi') });
    expect(r.model).toBe('my-gpt');
    expect(fake.calls[0]).toMatchObject({ path: '/openai/deployments/my-gpt/chat/completions', query: { 'api-version': '2024-10-21' } });
    expect(fake.calls[0]?.headers['api-key']).toBe('az-key');
  });

  test('stored responses: retrieve, input items, delete, then 404; store: false keeps nothing', async () => {
    const r = await client.responses.create({ model: 'gpt-4.1', input: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] });
    expect(await client.responses.retrieve(r.id)).toEqual(r);
    const page = await client.responses.inputItems.list(r.id, { limit: 1 });
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'b' }] });
    expect(page.has_more).toBe(true);
    const raw = await fetch(`${fake.url}/v1/responses/${r.id}/input_items?order=asc`, { headers: { authorization: 'Bearer k' } });
    expect(await raw.json()).toMatchObject({ object: 'list', data: [{ content: [{ text: 'a' }] }, { content: [{ text: 'b' }] }], has_more: false });
    const del = await fetch(`${fake.url}/v1/responses/${r.id}`, { method: 'DELETE', headers: { authorization: 'Bearer k' } });
    expect(await del.json()).toEqual({ id: r.id, object: 'response', deleted: true });
    const gone = await fetch(`${fake.url}/v1/responses/${r.id}`, { headers: { authorization: 'Bearer k' } });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: { message: `Response with id '${r.id}' not found.`, type: 'invalid_request_error', param: null, code: null } });
    const unstored = await client.responses.create({ model: 'gpt-4.1', input: 'x', store: false });
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('background: queued, in progress for backgroundMs, cancellable then; finished after, with usage', async () => {
    fake.setDefault({ backgroundMs: 60_000 });
    const slow = await client.responses.create({ model: 'gpt-4.1', input: 'hi', background: true });
    expect(slow).toMatchObject({ status: 'queued', background: true, output: [] });
    expect(await client.responses.retrieve(slow.id)).toMatchObject({ status: 'in_progress' });
    expect(await client.responses.cancel(slow.id)).toMatchObject({ status: 'cancelled' });
    expect(await client.responses.retrieve(slow.id)).toMatchObject({ status: 'cancelled' });
    fake.setDefault({});
    const quick = await client.responses.create({ model: 'gpt-4.1', input: 'hi', background: true });
    expect(await client.responses.retrieve(quick.id)).toMatchObject({ status: 'completed', background: true, usage: { input_tokens: 1, output_tokens: 4 } });
  });

  test('an Azure stream opens with the prompt-filter chunk the SDK tolerates', async () => {
    const azure = new AzureOpenAI({ apiKey: 'az-key', endpoint: fake.url, apiVersion: '2024-10-21', deployment: 'my-gpt', maxRetries: 0 });
    const stream = await azure.chat.completions.create({ model: 'gpt-4o', messages: user('hi'), stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]).toMatchObject({ id: '', object: '', choices: [] });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello from fake my-gpt');
  });

  test('the Azure v1 API takes the deployment as model and needs no api-version', async () => {
    const v1 = new OpenAI({ apiKey: 'unused', baseURL: `${fake.url}/openai/v1`, defaultHeaders: { 'api-key': 'az-key' }, maxRetries: 0 });
    const r = await v1.responses.create({ model: 'my-deployment', input: 'hi' });
    expect(r.output_text).toBe('Hello from fake my-deployment');
    expect(fake.calls[0]).toMatchObject({ path: '/openai/v1/responses', query: {} });
  });

  test('a deployment-scoped call without api-version is 404 Resource not found', async () => {
    const res = await fetch(`${fake.url}/openai/deployments/my-gpt/chat/completions`, {
      method: 'POST', headers: { 'api-key': 'k', 'content-type': 'application/json' }, body: JSON.stringify({ messages: user('hi') }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: '404', message: 'Resource not found' } });
  });

  test('the AzureOpenAI client retrieves one of the resource models, and gets 404 for another', async () => {
    const azure = new AzureOpenAI({ apiKey: 'az-key', endpoint: fake.url, apiVersion: '2024-10-21', maxRetries: 0 });
    expect(await azure.models.retrieve('gpt-4o')).toMatchObject({ id: 'gpt-4o', object: 'model', status: 'succeeded' });
    expect(fake.calls[0]).toMatchObject({ path: '/openai/models/gpt-4o', query: { 'api-version': '2024-10-21' } });
    const err = await azure.models.retrieve('unknown-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, code: 'NotFound' });
  });

  test('an unknown deployment is 404 DeploymentNotFound', async () => {
    const azure = new AzureOpenAI({ apiKey: 'az-key', endpoint: fake.url, apiVersion: '2024-10-21', deployment: 'unknown-dep', maxRetries: 0 });
    const err = await azure.chat.completions.create({ model: 'x', messages: user('hi') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err instanceof OpenAI.APIError && err.code).toBe('DeploymentNotFound');
  });
});

describe('context window', () => {
  test('a prompt plus max_tokens beyond the scenario window is refused with OpenAI\'s context_length_exceeded', async () => {
    fake.next({ contextWindow: 5 });
    const err = (await client.chat.completions.create({ model: 'gpt-4o', messages: user('one two three four'), max_tokens: 2 }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe('context_length_exceeded');
    expect(err.param).toBe('messages');
    expect(err.message).toContain("maximum context length is 5 tokens");
    fake.next({ contextWindow: 6 });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: user('one two three four'), max_tokens: 2 })).resolves.toBeTruthy();
  });
});
