/**
 * A model name's case changes neither where it goes nor what it costs: `Claude-haiku-4-5` is
 * Anthropic's (with the caller's Anthropic key), never the default provider's, and is priced as
 * `claude-haiku-4-5`. The name reaches the provider as the client spelled it (minus a provider prefix).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

let s: Stack;

beforeAll(async () => {
  s = await startStack();
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const chat = (model: string, key: string) =>
  fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello there' }] }),
  });

describe('model names in any case', () => {
  test.each([
    ['Claude-haiku-4-5', 'anthropic', '/v1/messages', 'Claude-haiku-4-5'],
    ['CLAUDE-HAIKU-4-5', 'anthropic', '/v1/messages', 'CLAUDE-HAIKU-4-5'],
    ['Anthropic/claude-haiku-4-5', 'anthropic', '/v1/messages', 'claude-haiku-4-5'],
    ['Gemini-2.5-flash', 'gemini', '/v1beta/models/Gemini-2.5-flash:generateContent', undefined],
  ] as const)('%s goes to %s, priced, with its spelling kept', async (model, provider, path, upstreamModel) => {
    const key = provider === 'anthropic' ? 'sk-ant-caller' : 'gemini-caller-key';
    const r = await chat(model, key);
    expect(r.status).toBe(200);
    expect(s.fake.calls[0]?.path).toBe(path);
    // the caller's key went to the provider it was meant for
    const sent = provider === 'anthropic' ? s.fake.calls[0]?.headers['x-api-key'] : s.fake.calls[0]?.headers['x-goog-api-key'];
    expect(sent).toBe(key);
    if (upstreamModel) expect(s.fake.calls[0]?.body?.['model']).toBe(upstreamModel);
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.route?.provider).toBe(provider);
    expect(x.costUsd).toBeGreaterThan(0);
    expect(Number(r.headers.get('x-watchllm-cost-usd'))).toBeCloseTo(x.costUsd!, 10);
  });
});
