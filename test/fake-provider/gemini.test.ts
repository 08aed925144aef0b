/**
 * The fake's Gemini API, checked with raw fetch (no Gemini SDK is installed) and
 * eventsource-parser for the `alt=sse` stream.
 */
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startFakeProvider, type FakeProvider } from './index.ts';

let fake: FakeProvider;

beforeAll(async () => {
  fake = await startFakeProvider({ validKeys: ['g-key'] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

function post(path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': 'g-key' }): Promise<Response> {
  return fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const ask = { systemInstruction: { parts: [{ text: 'be brief' }] }, contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] };

describe('gemini', () => {
  test('generateContent answers a candidate with usageMetadata', async () => {
    const res = await post('/v1beta/models/gemini-2.5-flash:generateContent', ask);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      candidates: [{ content: { role: 'model', parts: [{ text: 'Hello from fake gemini-2.5-flash' }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 4, totalTokenCount: 8 },
      modelVersion: 'gemini-2.5-flash',
    });
  });

  test('streamGenerateContent?alt=sse sends data-only events, the last with finishReason and full usage', async () => {
    fake.next({ text: 'a b c', usage: { reasoningTokens: 2, cachedTokens: 1 } });
    const res = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', ask);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events: Array<{ event: string | undefined; json: Record<string, unknown> }> = [];
    const parser = createParser({ onEvent: (e) => events.push({ event: e.event, json: JSON.parse(e.data) as Record<string, unknown> }) });
    parser.feed(await res.text());
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.event === undefined)).toBe(true);
    expect(events.map((e) => e.json)).toMatchObject(['a ', 'b ', 'c'].map((text) => ({ candidates: [{ content: { role: 'model', parts: [{ text }] } }] })));
    expect(events[0]?.json).not.toHaveProperty('candidates.0.finishReason');
    expect(events[2]?.json).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, thoughtsTokenCount: 2, cachedContentTokenCount: 1, totalTokenCount: 10 },
    });
  });

  test('streamGenerateContent without alt=sse streams one JSON array of responses', async () => {
    fake.next({ text: 'a b' });
    const res = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent', ask);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    const body: unknown = JSON.parse(await res.text());
    expect(body).toMatchObject([
      { candidates: [{ content: { parts: [{ text: 'a ' }] } }] },
      { candidates: [{ content: { parts: [{ text: 'b' }] }, finishReason: 'STOP' }], usageMetadata: { candidatesTokenCount: 2 } },
    ]);
  });

  test('answers a functionCall part when tools are offered and the scenario asks', async () => {
    fake.next({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const res = await post('/v1beta/models/gemini-2.5-flash:generateContent', {
      ...ask, tools: [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT' } }] }],
    });
    expect(await res.json()).toMatchObject({ candidates: [{ content: { parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] } }] });
  });

  test('batchEmbedContents answers one vector per request, sized by outputDimensionality', async () => {
    const res = await post('/v1beta/models/text-embedding-004:batchEmbedContents', {
      requests: [
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'one' }] } },
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'two' }] }, outputDimensionality: 64 },
      ],
    });
    const body = (await res.json()) as { embeddings: Array<{ values: number[] }> };
    expect(body.embeddings.map((e) => e.values.length)).toEqual([768, 64]);
  });

  test.each([
    ['a wrong key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID', { 'x-goog-api-key': 'nope' }, 400, 'INVALID_ARGUMENT'],
    ['a missing key is 403 PERMISSION_DENIED', {} as Record<string, string>, 403, 'PERMISSION_DENIED'],
  ] as const)('%s', async (_title, headers, status, rpc) => {
    const res = await post('/v1beta/models/gemini-2.5-flash:generateContent', ask, headers);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code: status, status: rpc } });
  });

  test('the key is also accepted from ?key=', async () => {
    const res = await post('/v1beta/models/gemini-2.5-flash:generateContent?key=g-key', ask, {});
    expect(res.status).toBe(200);
  });

  test('an unknown model is 404 NOT_FOUND', async () => {
    const res = await post('/v1beta/models/unknown-model:generateContent', ask);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND', message: expect.stringContaining('models/unknown-model') } });
  });

  test('429 carries the delay as a RetryInfo detail', async () => {
    fake.next({ status: 429, retryAfter: 7 });
    const res = await post('/v1beta/models/gemini-2.5-flash:generateContent', ask);
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({
      error: { code: 429, status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }] },
    });
  });
});
