/**
 * When the provider reports no usage, the gateway estimates it, and the estimate is what the call is
 * recorded and billed with: every text the request carries must count, tool results included.
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

const RESULT = Array.from({ length: 300 }, (_, i) => `row${i}`).join(' ');

const post = (path: string, body: unknown) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: JSON.stringify(body),
  });

describe('estimated prompt tokens count tool results', () => {
  test.each([
    ['streamed', true],
    ['not streamed', false],
  ] as const)('a Responses function_call_output, %s without usage from upstream', async (_name, stream) => {
    s.fake.next({ omitUsage: true, text: 'It is sunny.' });
    const r = await post('/v1/responses', {
      model: 'gpt-4o',
      stream,
      input: [
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: RESULT },
      ],
    });
    expect(r.status).toBe(200);
    await r.text();
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('estimate');
    // 300 words of tool output (tiktoken splits `row123` in two or so), not 0
    expect(x.response.usage!.promptTokens).toBeGreaterThanOrEqual(300);
    expect(x.costUsd).toBeGreaterThan((300 * 2.5) / 1e6);
  });

  test('tool definitions, streamed without usage (every vendor bills them as prompt tokens)', async () => {
    s.fake.next({ omitUsage: true, text: 'It is sunny.' });
    const r = await post('/v1/chat/completions', {
      model: 'gpt-4o',
      stream: true,
      tools: [{ type: 'function', function: { name: 'lookup', description: RESULT, parameters: { type: 'object', properties: {} } } }],
      messages: [{ role: 'user', content: 'hi' }],
    });
    await r.text();
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.response.usageSource).toBe('estimate');
    expect(x.response.usage!.promptTokens).toBeGreaterThanOrEqual(300);
  });
});
