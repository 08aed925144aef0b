import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * An OpenAI-compatible host that writes its stream chunks with spaces (`{"id": "x", "usage": null}`,
 * Python's json.dumps): the gateway must read their usage and finish reason, and hide the usage it
 * asked for on the client's behalf, as it does for OpenAI's compact JSON.
 */
let s: Stack;
let gw: OpenAI;
const SPACED = { spacedJson: true, text: 'one two three', chunks: 3 };

beforeAll(async () => {
  s = await startStack({});
  gw = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => s?.close());

/** The raw SSE data lines the client got. */
async function rawStream(body: Record<string, unknown>): Promise<string[]> {
  s.fake.next(SPACED);
  const r = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'count to three' }], ...body }),
  });
  expect(r.status).toBe(200);
  return (await r.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
}

describe('a host writing JSON with spaces', () => {
  test('a client that did not ask for usage gets no usage chunk and no usage member; the call records the provider usage', async () => {
    const before = s.events.length;
    const data = await rawStream({});
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: Array<{ delta: { content?: string } }>; usage?: unknown });
    // every chunk has its choice, as without the gateway (`chunk.choices[0].delta` never throws)
    for (const c of chunks) expect(c.choices).toHaveLength(1);
    for (const c of chunks) expect('usage' in c).toBe(false);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('one two three');
    const [x] = (await s.waitForEvents(before + 1)).slice(before);
    expect(x!.response.usageSource).toBe('provider');
    expect(x!.response.usage).toMatchObject({ promptTokens: 3, completionTokens: 3 });
    expect(x!.response.finishReason).toBe('stop');
  });

  test('a client that asked for usage gets it, through the official SDK', async () => {
    const before = s.events.length;
    s.fake.next(SPACED);
    const stream = await gw.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'count to three' }],
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });
    const [x] = (await s.waitForEvents(before + 1)).slice(before);
    expect(x!.response).toMatchObject({ usageSource: 'provider', finishReason: 'stop' });
  });
});
