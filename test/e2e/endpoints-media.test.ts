/**
 * OpenAI's media endpoints through the gateway with the official `openai` SDK, only baseURL
 * changed: moderations, image generation and speech (JSON in; JSON, SSE or binary audio out), each
 * recorded as one event with its endpoint, model, tokens and cost (NULL when the provider bills
 * units its answer does not report).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { toRow } from '../../gateway/src/events/row.ts';
import { fakeSpeech } from '../fake-provider/media.ts';
import { last, startStack, type Stack } from './harness.ts';

const KEY = 'wl_media_key_0123456789abcdef';
let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack({
    env: (fake) => ({ WATCHLLM_AZURE_BASE_URL: fake, WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held', WATCHLLM_OPENAI_API_KEY: 'sk-held' }),
    yaml: `keys:\n  - { name: images-only, project: acme, key: ${KEY}, allowed_models: ["gpt-image-1", "claude-*"] }\ncache:\n  enabled: true\nbudgets:\n  user: { usd: 0.05, period: day }\n`,
  });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-openai-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const rowOf = (x: Parameters<typeof toRow>[0]) => toRow(x, { storeBodies: true });

describe('moderations', () => {
  test('without a model: the provider default answers, recorded as the model it names, free ($0)', async () => {
    const r = await client.moderations.create({ input: ['a calm day', 'pure violence'] });
    expect(r.model).toBe('omni-moderation-2024-09-26');
    expect(r.results.map((x) => x.flagged)).toEqual([false, true]);
    expect(s.fake.calls[0]).toMatchObject({ path: '/v1/moderations', body: { input: ['a calm day', 'pure violence'] } });
    expect(s.fake.calls[0]?.body).not.toHaveProperty('model');
    const x = (await s.waitForEvents(1))[0]!;
    expect(rowOf(x)).toMatchObject({
      endpoint: 'moderations', provider: 'openai', model: 'omni-moderation-2024-09-26', upstream_model: 'omni-moderation-2024-09-26',
      status_code: 200, outcome: 'success', prompt_tokens: 0, completion_tokens: 0, usage_source: 'none', cost_usd: 0, priced: true, cache_status: 'bypass',
    });
  });

  test('a named (free) moderation model says its cost, $0, as its event records it', async () => {
    const { response } = await client.moderations.create({ model: 'omni-moderation-latest', input: 'hi' }).withResponse();
    expect(response.headers.get('x-watchllm-cost-usd')).toBe('0');
  });

  test('a named model is sent and recorded as named', async () => {
    await client.moderations.create({ model: 'omni-moderation-latest', input: 'hello' });
    expect(s.fake.calls[0]?.body).toMatchObject({ model: 'omni-moderation-latest' });
    const x = (await s.waitForEvents(1))[0]!;
    expect(rowOf(x)).toMatchObject({ model: 'omni-moderation-latest', cost_usd: 0, priced: true });
  });

  test('Azure has no moderations: 400 unsupported_endpoint, never forwarded', async () => {
    const err = await client.moderations.create({ input: 'x' }, { headers: { 'x-watchllm-provider': 'azure' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_endpoint' });
    expect(s.fake.calls).toHaveLength(0);
    expect(rowOf((await s.waitForEvents(1))[0]!)).toMatchObject({ endpoint: 'moderations', status_code: 400, outcome: 'invalid', error_type: 'unsupported_endpoint' });
  });
});

describe('images', () => {
  test('gpt-image-1: tokens recorded and priced ($5/M text in, $40/M out); the stored body keeps no base64', async () => {
    const { data: r, response } = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox in snow' }).withResponse();
    expect(r.data?.[0]?.b64_json).toBe(Buffer.from('\x89PNG fake image 0 for: a red fox in snow').toString('base64'));
    expect(r.usage).toMatchObject({ input_tokens: 5, output_tokens: 1056 });
    expect(response.headers.get('x-watchllm-cost-usd')).toBe('0.042265');
    const x = (await s.waitForEvents(1))[0]!;
    const row = rowOf(x);
    expect(row).toMatchObject({ endpoint: 'images', model: 'gpt-image-1', prompt_tokens: 5, completion_tokens: 1056, usage_source: 'provider', priced: true, status_code: 200 });
    expect(row.cost_usd).toBeCloseTo((5 * 5 + 1056 * 40) / 1e6, 12);
    expect(row.response_body).toContain('"b64_json":"[base64: ');
    expect(row.response_body).not.toContain(r.data![0]!.b64_json!);
  });

  test('under a budget, gpt-image-1 reserves its images at the size and quality asked, not a chat max_tokens', async () => {
    // budgets.user is $0.05 a day: one low-quality square image may cost 272 tokens at $40/M (about
    // $0.011), it fits; `auto` may be the dearest (6240 tokens of a high, non-square image: $0.25)
    const alice = { 'x-watchllm-user': 'image-budget-alice' };
    const low = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', quality: 'low', size: '1024x1024' }, { headers: alice });
    expect(low.data).toHaveLength(1);
    const refused = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', n: 2 }, { headers: alice }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain('its images at the size and quality asked');
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain('Lower n, the size or the quality');
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).not.toContain('max_tokens');
  });

  test('image input tokens are priced at the image rate ($10/M)', async () => {
    s.fake.next({ usage: { promptTokens: 1000 } });
    await client.images.generate({ model: 'gpt-image-1', prompt: 'x' });
    const x = (await s.waitForEvents(1))[0]!;
    // the fake reports all 1000 as text tokens: $5/M
    expect(x.costUsd).toBeCloseTo((1000 * 5 + 1056 * 40) / 1e6, 12);
  });

  test('dall-e reports no usage: priced per image at the quality and size asked, and no tokens estimated', async () => {
    const { data: r, response } = await client.images.generate({ model: 'dall-e-3', prompt: 'a red fox' }).withResponse();
    expect(r.data?.[0]?.url).toMatch(/^https:\/\/fake-images/);
    // the answer says what its event records
    expect(response.headers.get('x-watchllm-cost-usd')).toBe('0.04');
    const row = rowOf((await s.waitForEvents(1))[0]!);
    expect(row).toMatchObject({ endpoint: 'images', model: 'dall-e-3', prompt_tokens: 0, completion_tokens: 0, usage_source: 'none', cost_usd: 0.04, priced: true });
    s.events.length = 0;
    await client.images.generate({ model: 'dall-e-2', prompt: 'a red fox', n: 2, size: '512x512' });
    expect(rowOf((await s.waitForEvents(1))[0]!)).toMatchObject({ model: 'dall-e-2', cost_usd: 0.036, priced: true });
  });

  test('under a budget, dall-e-3 reserves its images: an HD pair does not fit $0.05 a day, one standard image does', async () => {
    const bob = { 'x-watchllm-user': 'image-budget-bob' };
    const refused = await client.images.generate({ model: 'dall-e-3', prompt: 'x', n: 2, quality: 'hd' }, { headers: bob }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 402, code: 'budget_exceeded' });
    await client.images.generate({ model: 'dall-e-3', prompt: 'x' }, { headers: bob });
  });

  test('a gpt-image-1 stream passes through; usage is read from image_generation.completed', async () => {
    const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 1 });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toEqual(['image_generation.partial_image', 'image_generation.completed']);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'success', request: { stream: true }, response: { usageSource: 'provider', usage: { promptTokens: 2, completionTokens: 1056 } } });
    expect(x.response.firstTokenAt).not.toBeNull();
    expect(rowOf(x).cost_usd).toBeCloseTo((2 * 5 + 1056 * 40) / 1e6, 12);
  });

  test('a stream cut before image_generation.completed ends with an error the SDK raises', async () => {
    s.fake.next({ dropAfterChunks: 1 });
    const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 2 });
    const err = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(String(err)).toMatch(/stream was cut/);
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'upstream_error', error: { type: 'upstream_stream_cut' } });
  });

  test('Azure: the deployment URL of image generations', async () => {
    await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox' }, { headers: { 'x-watchllm-provider': 'azure' } });
    expect(s.fake.calls[0]?.path).toBe('/openai/deployments/gpt-image-1/images/generations');
    expect(s.fake.calls[0]?.query['api-version']).toBeDefined();
    expect(s.fake.calls[0]?.headers['api-key']).toBe('sk-test-openai-key');
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'success', route: { provider: 'azure', model: 'gpt-image-1' } });
  });

  test("a gateway key's allowed_models: an image model not allowed is refused (403), the allowed one passes", async () => {
    const keyed = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const err = await keyed.images.generate({ model: 'dall-e-3', prompt: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, code: 'model_not_allowed' });
    await keyed.images.generate({ model: 'gpt-image-1', prompt: 'x' });
    expect(s.fake.calls).toHaveLength(1);
    expect(s.fake.calls[0]?.headers['authorization']).toBe('Bearer sk-held');
    // without a model the provider's default (dall-e-2: paid, unpriced) would draw: such a key must name it
    for (const body of [{ prompt: 'x', n: 10 }, { prompt: 'x', model: null }]) {
      const refused = await keyed.images.generate(body as { prompt: string }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 403, code: 'model_not_allowed', param: 'model' });
    }
    expect(s.fake.calls).toHaveLength(1);
  });

  test('the Anthropic provider serves no images: 400 unsupported_endpoint', async () => {
    const err = await client.images.generate({ model: 'claude-sonnet-4-5', prompt: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_endpoint' });
    expect(String((err as Error).message)).toContain("Provider 'anthropic' does not serve /v1/images/generations");
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('speech', () => {
  test('binary audio streams through byte for byte with its content-type; tts-1 priced per character', async () => {
    s.fake.next({ chunks: 5, chunkDelayMs: 5 });
    const input = 'Hello there, how are you?';
    const r = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input });
    expect(r.headers.get('content-type')).toBe('audio/mpeg');
    expect(r.headers.get('x-watchllm-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // known from the input before any audio: 25 characters at $15/M
    expect(r.headers.get('x-watchllm-cost-usd')).toBe('0.000375');
    expect(Buffer.from(await r.arrayBuffer()).equals(fakeSpeech(input, 'alloy'))).toBe(true);
    const x = (await s.waitForEvents(1))[0]!;
    const row = rowOf(x);
    expect(row).toMatchObject({ endpoint: 'speech', model: 'tts-1', status_code: 200, outcome: 'success', prompt_tokens: 0, priced: true, response_body: `[audio/mpeg: ${fakeSpeech(input, 'alloy').length} bytes]` });
    expect(row.cost_usd).toBeCloseTo((input.length * 15) / 1e6, 12);
    expect(row.response_bytes).toBe(fakeSpeech(input, 'alloy').length);
  });

  test('stream_format sse: speech.audio.* events pass through; usage read from speech.audio.done; the audio is never stored', async () => {
    s.fake.next({ chunks: 3 });
    const input = 'Read this aloud';
    const r = await fetch(`${s.url}/v1/audio/speech`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-openai-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, stream_format: 'sse' }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const events = (await r.text()).split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)) as { type: string; audio?: string });
    expect(events.map((e) => e.type)).toEqual(['speech.audio.delta', 'speech.audio.delta', 'speech.audio.delta', 'speech.audio.done']);
    const spoken = Buffer.concat(events.filter((e) => e.audio).map((e) => Buffer.from(e.audio!, 'base64')));
    expect(spoken.equals(fakeSpeech(input, 'alloy'))).toBe(true);
    const x = (await s.waitForEvents(1))[0]!;
    const row = rowOf(x);
    expect(row).toMatchObject({ endpoint: 'speech', model: 'gpt-4o-mini-tts', outcome: 'success', prompt_tokens: 3, usage_source: 'provider', priced: true });
    expect(row.completion_tokens).toBeGreaterThan(0);
    // text input $0.60/M, audio output $12/M
    expect(row.cost_usd).toBeCloseTo((3 * 0.6 + row.completion_tokens * 12) / 1e6, 12);
    expect(row.response_body).toMatch(/^\[speech events: \d+ bytes\]$/);
    expect(row.ttft_ms).not.toBeNull();
  });

  test('wav passes its content-type; tts-1-hd costs $30/M characters; gpt-4o-mini-tts is unpriced', async () => {
    const r = await client.audio.speech.create({ model: 'tts-1-hd', voice: 'nova', input: 'abcd', response_format: 'wav' });
    expect(r.headers.get('content-type')).toBe('audio/wav');
    await r.arrayBuffer();
    await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'nova', input: 'abcd' }).then((x) => x.arrayBuffer());
    const [hd, mini] = await s.waitForEvents(2);
    expect(hd!.costUsd).toBeCloseTo((4 * 30) / 1e6, 12);
    expect(rowOf(mini!)).toMatchObject({ cost_usd: null, priced: false, usage_source: 'none' });
  });

  test('a provider error on speech is relayed in OpenAI shape', async () => {
    const err = await client.audio.speech.create({ model: 'unknown-tts', voice: 'alloy', input: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(rowOf((await s.waitForEvents(1))[0]!)).toMatchObject({ endpoint: 'speech', status_code: 404, outcome: 'upstream_error', cost_usd: 0 });
  });

  test('audio cut mid-body: the client connection is closed, not ended as if whole', async () => {
    s.fake.next({ chunks: 4, dropAfterChunks: 2, chunkDelayMs: 5 });
    const err = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hello' }).then((r) => r.arrayBuffer()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'upstream_error', error: { type: 'upstream_stream_cut' } });
  });

  test('Azure: the deployment URL of speech', async () => {
    const r = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' }, { headers: { 'x-watchllm-provider': 'azure' } });
    expect(Buffer.from(await r.arrayBuffer()).equals(fakeSpeech('hi', 'alloy'))).toBe(true);
    expect(s.fake.calls[0]?.path).toBe('/openai/deployments/tts-1/audio/speech');
  });
});

describe('the Anthropic SDK is untouched', () => {
  test('messages still route (sanity: the new routes took no Anthropic path)', async () => {
    const a = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-x', maxRetries: 0 });
    const m = await a.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.type).toBe('message');
    expect(last(s).endpoint).toBe('messages');
  });
});
