/**
 * A media stream (image generation with partial images) that ends early is told apart like a chat
 * stream: a provider gone quiet past `stream_idle_timeout_ms` is a timeout (504's code in the error
 * event), and the gateway's own shutdown is `gateway_shutdown`, not a cut the provider made.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { shutDownMidStream, startStack, type Stack } from './harness.ts';

let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack({ yaml: 'server:\n  stream_idle_timeout_ms: 300\n  shutdown_grace_ms: 200\n' });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-openai-key', maxRetries: 0 });
});
afterAll(() => s.close().catch(() => {}));
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

test('a provider that goes quiet mid-stream: the client gets an upstream_timeout error event, the call is recorded as a timeout', async () => {
  s.fake.next({ chunkDelayMs: 2000 });
  const stream = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 2 });
  const types: string[] = [];
  const err = await (async () => {
    for await (const ev of stream) types.push(ev.type);
  })().catch((e: unknown) => e);
  expect(types).toEqual(['image_generation.partial_image']);
  expect(String(err)).toMatch(/idle timeout/);
  const [x] = await s.waitForEvents(1);
  expect(x).toMatchObject({ outcome: 'timeout', error: { type: 'upstream_timeout' } });
});

test("the gateway's shutdown ends a media stream with gateway_shutdown, not as the provider's cut", async () => {
  s.fake.next({ chunkDelayMs: 1000 });
  const r = await fetch(`${s.url}/v1/images/generations`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test-openai-key', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-image-1', prompt: 'a fox', stream: true, partial_images: 2 }),
  });
  expect(r.status).toBe(200);
  const text = await shutDownMidStream(s, r);
  expect(text).toContain('"code":"gateway_shutdown"');
  expect(text).not.toContain('upstream_stream_cut');
  const [x] = await s.waitForEvents(1);
  expect(x!.error?.type).toBe('gateway_shutdown');
});
