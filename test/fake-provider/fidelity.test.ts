/**
 * Wire details QA found missing or wrong in the fake: Responses event numbering around an
 * in-stream error, Responses reasoning items, and OpenAI's embeddings limits.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startFakeProvider, type FakeProvider } from './index.ts';

let fake: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeProvider();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

/** The raw SSE events of a streamed Responses call, in order. */
async function rawEvents(body: Record<string, unknown>): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const res = await fetch(`${fake.url}/v1/responses`, {
    method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: JSON.stringify({ stream: true, ...body }),
  });
  expect(res.status).toBe(200);
  return (await res.text()).split('\n\n').filter(Boolean).map((f) => {
    const [, event = '', data = ''] = /^event: (.*)\ndata: (.*)$/s.exec(f) ?? [];
    return { event, data: JSON.parse(data) as Record<string, unknown> };
  });
}

describe('responses stream numbering', () => {
  test('a mid-stream error event takes the next sequence_number after the last event sent', async () => {
    fake.next({ text: 'a b c d', midStreamError: { afterChunks: 2, message: 'boom' } });
    const events = await rawEvents({ model: 'gpt-4.1', input: 'hi' });
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', message: 'boom', sequence_number: events.length - 1 } });
    expect(events.filter((e) => e.event === 'response.output_text.delta')).toHaveLength(2);
  });

  test('the openai SDK yields it as a ResponseErrorEvent numbered after the events before it', async () => {
    fake.next({ midStreamError: { afterChunks: 1, message: 'boom', errorType: 'server_error' } });
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.at(-1)).toEqual({ type: 'error', code: 'server_error', message: 'boom', param: null, sequence_number: events.length - 1 });
    expect(events.at(-2)).toMatchObject({ type: 'response.output_text.delta', sequence_number: events.length - 2 });
  });
});

describe('responses reasoning items', () => {
  const ask = { model: 'o3-mini', input: 'why?', reasoning: { effort: 'low' as const, summary: 'auto' as const } };
  const SUMMARY = ['**Weighing it** First part.', '**Deciding** Second part.'];

  test('a non-streamed response starts its output with the reasoning item and its summary', async () => {
    fake.next({ reasoningSummary: SUMMARY, usage: { reasoningTokens: 30 } });
    const r = await client.responses.create(ask);
    expect(r.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(r.output[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: SUMMARY.map((text) => ({ type: 'summary_text', text })) });
    expect(r.reasoning).toEqual({ effort: 'low', summary: 'auto' });
    expect(r.usage).toMatchObject({ output_tokens: 34, output_tokens_details: { reasoning_tokens: 30 } });
  });

  test('without reasoning.summary in the request the item comes with an empty summary', async () => {
    fake.next({ reasoningSummary: 'hidden' });
    const r = await client.responses.create({ model: 'o3-mini', input: 'why?' });
    expect(r.output[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [] });
    expect(r.reasoning).toEqual({ effort: null, summary: null });
  });

  test('streams the summary parts in the API\'s order, then the message', async () => {
    fake.next({ reasoningSummary: SUMMARY, text: 'Because.' });
    const events = await rawEvents(ask);
    const rs = events.filter((e) => e.data.output_index === 0).map((e) => `${e.event}${'summary_index' in e.data ? `#${String(e.data.summary_index)}` : ''}`);
    const part = (i: number): string[] => [
      `response.reasoning_summary_part.added#${i}`,
      // one delta per word, as the fake streams text
      ...Array.from({ length: SUMMARY[i]!.split(' ').length }, () => `response.reasoning_summary_text.delta#${i}`),
      `response.reasoning_summary_text.done#${i}`,
      `response.reasoning_summary_part.done#${i}`,
    ];
    expect(rs).toEqual(['response.output_item.added', ...part(0), ...part(1), 'response.output_item.done']);
    expect(events.find((e) => e.event === 'response.output_item.added')?.data.item).toMatchObject({ type: 'reasoning', summary: [] });
    expect(events.filter((e) => e.event === 'response.reasoning_summary_text.done').map((e) => e.data.text)).toEqual(SUMMARY);
    expect(events.find((e) => e.event === 'response.output_item.added' && e.data.output_index === 1)?.data.item).toMatchObject({ type: 'message' });
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
  });

  test('the SDK accumulates the streamed reasoning item into the final response', async () => {
    fake.next({ reasoningSummary: SUMMARY });
    const final = await client.responses.stream(ask).finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'reasoning', summary: SUMMARY.map((text) => ({ type: 'summary_text', text })) });
  });
});

describe('embeddings limits', () => {
  test('dimensions for text-embedding-ada-002 is OpenAI\'s 400', async () => {
    const err = await client.embeddings.create({ model: 'text-embedding-ada-002', input: 'x', dimensions: 1536 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toEqual({
      message: 'This model does not support specifying dimensions.', type: 'invalid_request_error', param: null, code: null,
    });
    const plain = await client.embeddings.create({ model: 'text-embedding-ada-002', input: 'x', encoding_format: 'float' });
    expect(plain.data[0]?.embedding).toHaveLength(1536);
  });

  test('more than 2048 inputs is a 400 naming input; 2048 are answered', async () => {
    const err = await client.embeddings.create({ model: 'text-embedding-3-small', input: Array.from({ length: 2049 }, (_, i) => `t${i}`) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'input', code: 'array_above_max_length', type: 'invalid_request_error' });
    const ok = await client.embeddings.create({ model: 'text-embedding-3-small', input: Array.from({ length: 2048 }, (_, i) => `t${i}`), dimensions: 4 });
    expect(ok.data).toHaveLength(2048);
  });

  test('one array of token ids is one input, however long', async () => {
    const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: Array.from({ length: 3000 }, (_, i) => i), dimensions: 4 });
    expect(r.data).toHaveLength(1);
  });
});
