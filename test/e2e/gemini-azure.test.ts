import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  // Azure needs its resource endpoint configured; the fake serves Azure's URL shape on the same port.
  s = await startStack({
    env: (fake) => ({ WATCHLLM_AZURE_BASE_URL: fake }),
    // A second Gemini under a name of its own: what holds for `gemini` holds for every provider of its kind.
    yaml: (fake) =>
      `providers:\n  gemini-eu:\n    kind: gemini\n    base_url: ${fake}/v1beta\n    models: ["eu-*"]\n` +
      `  azure-old:\n    kind: azure\n    base_url: ${fake}\n    api_version: "2024-06-01"\n`,
  });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'test-provider-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

describe('Gemini through the OpenAI SDK', () => {
  test('chat is translated to generateContent and back', async () => {
    const r = await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    });
    expect(r.choices[0]?.message.content).toBe('Hello from fake gemini-2.5-flash');
    expect(r.choices[0]?.finish_reason).toBe('stop');
    const call = s.fake.calls[0]!;
    expect(call.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(call.headers['x-goog-api-key']).toBe('test-provider-key');
    expect(call.body).toMatchObject({ systemInstruction: { parts: [{ text: 'be brief' }] }, contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] });
    const x = (await s.waitForEvents(1))[0]!;
    // system + user words, by the fake's token rule
    expect(x.response.usage).toMatchObject({ promptTokens: 4, completionTokens: 4 });
    expect(x.route).toEqual({ provider: 'gemini', model: 'gemini-2.5-flash' });
  });

  test('a streamed answer arrives as OpenAI chunks and ends with [DONE]', async () => {
    s.fake.next({ text: 'one two three', chunks: 3 });
    const stream = await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      stream: true,
      messages: [{ role: 'user', content: 'count' }],
    });
    let text = '';
    let usageKey = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      // the client asked for no usage: its chunks carry no usage member, as OpenAI's would not
      if ('usage' in chunk) usageKey = true;
    }
    expect(text).toBe('one two three');
    expect(usageKey).toBe(false);
    expect(s.fake.calls[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'success', response: { usageSource: 'provider', finishReason: 'stop' } });
  });

  /** The data of each SSE event the client got, for a streamed Gemini call that asked for usage. */
  async function streamData(): Promise<string[]> {
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-provider-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-flash', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count' }] }),
    });
    return (await r.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
  }

  test("an error in the stream is the last thing the client gets; what was streamed is estimated, not recorded as 0 tokens", async () => {
    s.fake.next({ text: 'one two three four', chunks: 4, midStreamError: { afterChunks: 2 } });
    const data = await streamData();
    // no usage chunk made up after the error
    expect(JSON.parse(data.at(-1)!)).toHaveProperty('error');
    expect(data.some((d) => d.includes('"usage":{'))).toBe(false);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('upstream_error');
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage?.completionTokens).toBeGreaterThan(0);
  });

  test('a stream that ends before its last chunk gets the cut error (not a usage chunk and silence); the output is estimated', async () => {
    s.fake.next({ text: 'one two three four', chunks: 4, endAfterChunks: 2 });
    const data = await streamData();
    expect(JSON.parse(data.at(-1)!)).toMatchObject({ error: { code: 'upstream_stream_cut' } });
    expect(data.some((d) => d.includes('"usage":{'))).toBe(false);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage?.completionTokens).toBeGreaterThan(0);
  });

  test("Gemini's 429 names its wait in the body (RetryInfo): the OpenAI SDK gets it as retry-after", async () => {
    s.fake.next({ status: 429, retryAfter: 7 });
    const err = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');
  });

  test('an answer without usageMetadata is counted by estimate, not recorded as zero tokens from the provider', async () => {
    s.fake.next({ omitUsage: true, text: 'alpha beta gamma' });
    const r = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'say three words' }] });
    expect(r.choices[0]?.message.content).toBe('alpha beta gamma');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage?.completionTokens).toBeGreaterThan(0);
    expect(x.costUsd).toBeGreaterThan(0);
  });

  test('more than 100 embedding inputs get a 400 naming input, before Gemini is called', async () => {
    const err = await client.embeddings.create({ model: 'text-embedding-004', input: Array.from({ length: 150 }, (_, i) => `doc ${i}`) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'input' });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('embeddings through a Gemini provider of another name are estimated too', async () => {
    const r = await client.embeddings.create({ model: 'gemini-eu/eu-text-embedding-004', input: ['a b c', 'd'] });
    expect(r.data).toHaveLength(2);
    expect(s.fake.calls[0]?.path).toBe('/v1beta/models/eu-text-embedding-004:batchEmbedContents');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.route?.provider).toBe('gemini-eu');
    expect(x.response).toMatchObject({ usageSource: 'estimate' });
    expect(x.response.usage?.promptTokens).toBeGreaterThan(0);
  });

  test('embeddings work with the SDK default base64 encoding; Gemini reports no tokens, so they are estimated', async () => {
    const r = await client.embeddings.create({ model: 'text-embedding-004', input: ['a b c', 'd'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]?.embedding.length).toBeGreaterThan(0);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage?.promptTokens).toBeGreaterThan(0);
  });
});

describe('Azure OpenAI', () => {
  test('azure/<model> goes to the deployment URL with the api-key header', async () => {
    const r = await client.chat.completions.create({ model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]?.message.content).toContain('Hello from fake');
    const call = s.fake.calls[0]!;
    expect(call.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    expect(call.query['api-version']).toBeTruthy();
    expect(call.headers['api-key']).toBe('test-provider-key');
    expect(call.headers['authorization']).toBeUndefined();
  });
});

describe('Azure streams and usage', () => {
  async function stream(model: string): Promise<string> {
    s.fake.next({ text: 'one two three', chunks: 3 });
    const r = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'count' }] });
    let text = '';
    for await (const chunk of r) text += chunk.choices[0]?.delta.content ?? '';
    return text;
  }

  test('a current api-version is asked for usage in the stream (stream_options), and reports it', async () => {
    expect(await stream('azure/gpt-4o')).toBe('one two three');
    expect(s.fake.calls[0]?.body).toMatchObject({ stream_options: { include_usage: true } });
    expect((await s.waitForEvents(1))[0]!.response.usageSource).toBe('provider');
  });

  test('an api-version older than stream_options (2024-06-01) is not sent it: the stream works, usage is estimated', async () => {
    expect(await stream('azure-old/gpt-4o')).toBe('one two three');
    expect(s.fake.calls[0]?.query['api-version']).toBe('2024-06-01');
    expect(s.fake.calls[0]?.body).not.toHaveProperty('stream_options');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'success', response: { usageSource: 'estimate' } });
  });
});

describe('a bad provider key', () => {
  test('Gemini answers a wrong key with 400 API_KEY_INVALID; the OpenAI SDK gets 401 invalid_api_key', async () => {
    const strict = await startStack({ fake: { validKeys: ['the-right-key'] } });
    try {
      const wrong = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: 'a-wrong-key', maxRetries: 0 });
      const err = await wrong.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.AuthenticationError>).error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
      const x = (await strict.waitForEvents(1))[0]!;
      expect(x).toMatchObject({ outcome: 'upstream_error', upstream: { status: 400 }, response: { status: 401 } });
    } finally {
      await strict.close();
    }
  });
});
