/**
 * Audio transcriptions and translations through the gateway with the official `openai` SDK:
 * multipart/form-data requests read for their model (routing, key scope, policies) and forwarded
 * byte for byte; JSON, text and SSE answers; one event each, never holding the audio.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { toRow } from '../../gateway/src/events/row.ts';
import { startStack, type Stack } from './harness.ts';

const KEY = 'wl_audio_key_0123456789abcdef0';
const POLICIES = `policies:
  - name: redact-emails
    detect: [email]
    action: redact
  - name: no-secret-project
    keywords: ["project bluebird"]
    action: deny
`;
let s: Stack;
let client: OpenAI;
const audio = Buffer.from([0x52, 0x49, 0x46, 0x46, 0x00, 0xff, 0x10, 0x80, 0x0d, 0x0a, 0x2d, 0x2d, 0xfe]);
const wav = () => toFile(audio, 'a.wav', { type: 'audio/wav' });

beforeAll(async () => {
  s = await startStack({
    env: (fake) => ({ WATCHLLM_AZURE_BASE_URL: fake, WATCHLLM_OPENAI_API_KEY: 'sk-held', WATCHLLM_MAX_BODY_MB: '1' }),
    yaml: `keys:\n  - { name: whisper-only, project: acme, key: ${KEY}, allowed_models: ["whisper-1"] }\n${POLICIES}`,
  });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-openai-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const rowOf = (x: Parameters<typeof toRow>[0]) => toRow(x, { storeBodies: true });

describe('transcriptions', () => {
  test('the multipart body reaches the provider byte for byte, boundary and all; whisper-1 is unpriced', async () => {
    const r = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', language: 'en' });
    expect(r.text).toBe(`Transcript of a.wav (${audio.length} bytes).`);
    const call = s.fake.calls[0]!;
    expect(call.path).toBe('/v1/audio/transcriptions');
    expect(call.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(call.headers['authorization']).toBe('Bearer sk-test-openai-key');
    expect(call.rawBytes.includes(audio)).toBe(true);
    const x = (await s.waitForEvents(1))[0]!;
    // the gateway forwarded exactly what it received
    expect(x.request.form?.bytes.equals(call.rawBytes)).toBe(true);
    const row = rowOf(x);
    expect(row).toMatchObject({
      endpoint: 'transcriptions', model: 'whisper-1', status_code: 200, outcome: 'success',
      prompt_tokens: 0, usage_source: 'none', cost_usd: null, priced: false, request_bytes: call.rawBytes.length,
    });
    // the audio is never stored: the form's fields, the file as a placeholder
    expect(JSON.parse(row.request_body)).toEqual({ file: `[file: a.wav, audio/wav, ${audio.length} bytes]`, model: 'whisper-1', language: 'en' });
    expect(row.response_body).toContain('Transcript of a.wav');
  });

  test('gpt-4o-transcribe reports tokens: recorded and priced, audio input at its own rate ($6/M)', async () => {
    await client.audio.transcriptions.create({ file: await wav(), model: 'gpt-4o-transcribe' });
    const row = rowOf((await s.waitForEvents(1))[0]!);
    expect(row).toMatchObject({ endpoint: 'transcriptions', model: 'gpt-4o-transcribe', usage_source: 'provider', prompt_tokens: 1, completion_tokens: 5, priced: true });
    // 1 audio token * $6 + 5 output tokens * $10, per 1M
    expect(row.cost_usd).toBeCloseTo((1 * 6 + 5 * 10) / 1e6, 12);
  });

  test('response_format text: text/plain passes through (no 502 for a non-JSON 200)', async () => {
    const { data, response } = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', response_format: 'text' }).withResponse();
    expect(data).toBe(`Transcript of a.wav (${audio.length} bytes).\n`);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'success', response: { body: `Transcript of a.wav (${audio.length} bytes).\n` } });
  });

  test('stream=true: transcript.text.* events pass through, usage read from transcript.text.done', async () => {
    s.fake.next({ text: 'one two three', chunks: 3 });
    const stream = await client.audio.transcriptions.create({ file: await wav(), model: 'gpt-4o-transcribe', stream: true });
    const deltas: string[] = [];
    let done = '';
    for await (const ev of stream) {
      if (ev.type === 'transcript.text.delta') deltas.push(ev.delta);
      else if (ev.type === 'transcript.text.done') done = ev.text;
    }
    expect(deltas.join('')).toBe('one two three');
    expect(done).toBe('one two three');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'success', request: { stream: true }, response: { usageSource: 'provider', usage: { completionTokens: 3 }, body: 'one two three' } });
    expect(x.response.firstTokenAt).not.toBeNull();
  });

  test('stream=true on whisper-1, which cannot stream: the JSON answer OpenAI gives is passed on, recorded unstreamed', async () => {
    // "Streaming is not supported for the whisper-1 model and will be ignored" (openai SDK v6 docs)
    const form = new FormData();
    form.append('file', new Blob([audio], { type: 'audio/wav' }), 'a.wav');
    form.append('model', 'whisper-1');
    form.append('stream', 'true');
    const r = await fetch(`${s.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer sk-test-openai-key' }, body: form });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(((await r.json()) as { text: string }).text).toBe(`Transcript of a.wav (${audio.length} bytes).`);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x).toMatchObject({ outcome: 'success', endpoint: 'transcriptions', request: { stream: false }, response: { status: 200 } });
  });

  test('Azure: the deployment URL, the form forwarded as it came', async () => {
    await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1' }, { headers: { 'x-watchllm-provider': 'azure' } });
    const call = s.fake.calls[0]!;
    expect(call.path).toBe('/openai/deployments/whisper-1/audio/transcriptions');
    expect(call.headers['api-key']).toBe('sk-test-openai-key');
    expect(call.rawBytes.includes(audio)).toBe(true);
  });

  test("a gateway key's allowed_models is checked against the form's model", async () => {
    const keyed = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const err = await keyed.audio.transcriptions.create({ file: await wav(), model: 'gpt-4o-transcribe' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, code: 'model_not_allowed' });
    expect(s.fake.calls).toHaveLength(0);
    await keyed.audio.transcriptions.create({ file: await wav(), model: 'whisper-1' });
    expect(s.fake.calls[0]?.headers['authorization']).toBe('Bearer sk-held');
    const [denied, ok] = await s.waitForEvents(2);
    expect(rowOf(denied!)).toMatchObject({ endpoint: 'transcriptions', model: 'gpt-4o-transcribe', status_code: 403, outcome: 'denied_policy' });
    expect(ok!.outcome).toBe('success');
  });

  test('a provider/ prefix cannot be forwarded in the form: 400 naming the model to send', async () => {
    const err = await client.audio.transcriptions.create({ file: await wav(), model: 'openai/whisper-1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, param: 'model' });
    expect(String((err as Error).message)).toContain("send model 'whisper-1'");
    expect(s.fake.calls).toHaveLength(0);
  });

  test('the Anthropic provider serves no transcriptions: 400 unsupported_endpoint', async () => {
    const err = await client.audio.transcriptions.create({ file: await wav(), model: 'claude-haiku-4-5' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_endpoint' });
  });

  test('a form without a model: 400 missing_model; a JSON body: 400 naming multipart', async () => {
    const fd = new FormData();
    fd.append('file', new Blob([audio], { type: 'audio/wav' }), 'a.wav');
    const r1 = await fetch(`${s.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer sk-x' }, body: fd });
    expect(r1.status).toBe(400);
    expect(await r1.json()).toMatchObject({ error: { code: 'missing_model' } });
    const r2 = await fetch(`${s.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer sk-x', 'content-type': 'application/json' }, body: '{"model":"whisper-1"}' });
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { error: { message: string } }).error.message).toContain('multipart/form-data');
    expect(s.fake.calls).toHaveLength(0);
  });

  test('a form over WATCHLLM_MAX_BODY_MB gets 413 before it is parsed', async () => {
    const big = await toFile(Buffer.alloc(1.5 * 1024 * 1024, 1), 'big.wav', { type: 'audio/wav' });
    const err = await client.audio.transcriptions.create({ file: big, model: 'whisper-1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 413 });
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('policies on the text these endpoints send', () => {
  test('a deny keyword in a transcription prompt refuses it', async () => {
    const err = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', prompt: 'about project bluebird' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, code: 'policy_denied' });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('a redaction a form cannot take refuses the call rather than send the text unmasked', async () => {
    const err = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', prompt: 'mail jane@example.com' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'policy_denied' });
    expect(String((err as Error).message)).toContain('redact-emails');
    expect(s.fake.calls).toHaveLength(0);
    expect((await s.waitForEvents(1))[0]).toMatchObject({ outcome: 'denied_policy' });
  });

  test('JSON endpoints are redacted as chat is: speech input, image prompt, moderation input', async () => {
    await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'write to jane@example.com' }).then((r) => r.arrayBuffer());
    await client.images.generate({ model: 'gpt-image-1', prompt: 'a card for jane@example.com' });
    await client.moderations.create({ input: ['hi jane@example.com'] });
    expect(s.fake.calls.map((c) => c.body)).toMatchObject([
      { input: 'write to [EMAIL_1]' },
      { prompt: 'a card for [EMAIL_1]' },
      { input: ['hi [EMAIL_1]'] },
    ]);
    const err = await client.images.generate({ model: 'gpt-image-1', prompt: 'project bluebird logo' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, code: 'policy_denied' });
  });
});

describe('translations', () => {
  test('whisper-1 translates a form; recorded as translations', async () => {
    const r = await client.audio.translations.create({ file: await wav(), model: 'whisper-1' });
    expect(r.text).toBe(`Transcript of a.wav (${audio.length} bytes).`);
    expect(s.fake.calls[0]?.path).toBe('/v1/audio/translations');
    expect(rowOf((await s.waitForEvents(1))[0]!)).toMatchObject({ endpoint: 'translations', model: 'whisper-1', status_code: 200, cost_usd: null, priced: false });
  });
});
