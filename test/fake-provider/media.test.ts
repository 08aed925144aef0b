/**
 * The fake provider's media endpoints checked with the official `openai` SDK (v6) as their client.
 */
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { fakeSpeech } from './media.ts';
import { startFakeProvider, type FakeProvider } from './index.ts';

let fake: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeProvider();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('the fake speaks OpenAI media endpoints', () => {
  test('moderations: one result per input, named by the snapshot that served it', async () => {
    const r = await client.moderations.create({ input: ['a calm day', 'pure violence'] });
    expect(r.model).toBe('omni-moderation-2024-09-26');
    expect(r.results.map((x) => x.flagged)).toEqual([false, true]);
    expect(r.results[1]?.categories.violence).toBe(true);
  });

  test('images: gpt-image-1 answers base64 and token usage; dall-e-3 urls and none', async () => {
    const g = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox' });
    expect(g.data?.[0]?.b64_json).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(g.usage).toMatchObject({ input_tokens: 3, output_tokens: 1056, input_tokens_details: { text_tokens: 3, image_tokens: 0 } });
    const d = await client.images.generate({ model: 'dall-e-3', prompt: 'a red fox' });
    expect(d.data?.[0]?.url).toMatch(/^https:\/\//);
    expect(d.usage).toBeUndefined();
  });

  test('images: a gpt-image-1 stream ends with image_generation.completed and its usage', async () => {
    const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 2 });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toEqual(['image_generation.partial_image', 'image_generation.partial_image', 'image_generation.completed']);
  });

  test('speech: binary audio, chunked', async () => {
    const r = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there' });
    expect(r.headers.get('content-type')).toBe('audio/mpeg');
    expect(r.headers.get('content-length')).toBeNull();
    expect(Buffer.from(await r.arrayBuffer()).equals(fakeSpeech('Hello there', 'alloy'))).toBe(true);
  });

  test('transcriptions: a multipart form in, {text, usage} out, or a transcript.text.* stream', async () => {
    const file = await toFile(Buffer.from('RIFF fake wav bytes \x00\x01\x02'), 'a.wav', { type: 'audio/wav' });
    const w = await client.audio.transcriptions.create({ file, model: 'whisper-1' });
    expect(w.text).toBe('Transcript of a.wav (23 bytes).');
    expect(w.usage).toEqual({ type: 'duration', seconds: 1 });
    const call = fake.calls[0]!;
    expect(call.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(call.rawBytes.includes(Buffer.from('RIFF fake wav bytes \x00\x01\x02'))).toBe(true);

    const stream = await client.audio.transcriptions.create({ file, model: 'gpt-4o-transcribe', stream: true });
    const events: string[] = [];
    for await (const ev of stream) events.push(ev.type);
    expect(events.at(-1)).toBe('transcript.text.done');
    const text = await client.audio.transcriptions.create({ file, model: 'whisper-1', response_format: 'text' });
    expect(text).toBe('Transcript of a.wav (23 bytes).\n');
  });

  test('Azure: the deployment routes of images and audio', async () => {
    const azure = new AzureOpenAI({ apiKey: 'k', endpoint: fake.url, apiVersion: '2025-04-01-preview', deployment: 'tts-1', maxRetries: 0 });
    const r = await azure.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' });
    expect(Buffer.from(await r.arrayBuffer()).equals(fakeSpeech('hi', 'alloy'))).toBe(true);
    expect(fake.calls[0]?.path).toBe('/openai/deployments/tts-1/audio/speech');
  });
});
