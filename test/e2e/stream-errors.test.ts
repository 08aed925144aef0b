import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * A provider that ends a stream with an error event after some answer text. The client gets that
 * error once, in its own format, and nothing the gateway invents after it; the call is recorded
 * as the provider's error, with the events it passed counted.
 */
let s: Stack;

beforeAll(async () => {
  s = await startStack();
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

async function streamed(model: string): Promise<string> {
  s.fake.next({ text: 'one two three four', chunks: 4, midStreamError: { afterChunks: 2, message: 'the model fell over' } });
  const r = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'count' }] }),
  });
  expect(r.status).toBe(200);
  return r.text();
}

describe('an error event in the middle of a provider stream', () => {
  test.each([
    ['OpenAI (passed through)', 'gpt-4o-mini'],
    ['Anthropic (translated)', 'claude-sonnet-4-5'],
    ['Gemini (translated)', 'gemini-2.5-flash'],
  ])('%s: the client gets the provider error once; the event records it', async (_name, model) => {
    const text = await streamed(model);
    const errors = text.split('\n').filter((l) => l.startsWith('data: ') && l.includes('"error"'));
    expect(errors, text).toHaveLength(1);
    expect(errors[0]).toContain('the model fell over');
    expect(text).not.toContain('was cut');
    const x = (await s.waitForEvents(1))[0]!;
    expect(x.outcome).toBe('upstream_error');
    expect(x.error?.message).toContain('the model fell over');
  });
});

test('a Responses API stream ending with its error event: the client gets it once; the event records it', async () => {
  s.fake.next({ text: 'one two three four', chunks: 4, midStreamError: { afterChunks: 2, message: 'the model fell over' } });
  const r = await fetch(`${s.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, input: 'count' }),
  });
  const text = await r.text();
  expect(text.match(/the model fell over/g), text).toHaveLength(1);
  expect(text).not.toContain('was cut');
  const x = (await s.waitForEvents(1))[0]!;
  expect(x.outcome).toBe('upstream_error');
  expect(x.error?.message).toContain('the model fell over');
});
