/**
 * Responses API details through the gateway, against a fake that sends them as OpenAI does:
 * reasoning items with their summary (https://platform.openai.com/docs/guides/reasoning#reasoning-summaries)
 * reach the openai SDK unchanged, streamed and not, and their reasoning tokens are recorded; an
 * in-stream error keeps the event numbering consecutive. Plus OpenAI's embeddings limits, which
 * the gateway passes on as OpenAI answers them.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let client: OpenAI;
let direct: OpenAI;

beforeAll(async () => {
  s = await startStack();
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-key', maxRetries: 0 });
  // the same calls straight to the fake, to compare with what the gateway hands on
  direct = new OpenAI({ baseURL: `${s.fake.url}/v1`, apiKey: 'sk-test-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const SUMMARY = ['**Comparing options** The user wants a pick.', '**Choosing** The second one fits.'];
const ask = { model: 'o3-mini', input: 'which one?', reasoning: { effort: 'medium' as const, summary: 'auto' as const } };
const summaryOf = (parts: string[]): unknown[] => parts.map((text) => ({ type: 'summary_text', text }));

/** Events without the fields that differ from one call to the next (ids, timestamps). */
function shape(events: OpenAI.Responses.ResponseStreamEvent[]): unknown[] {
  return JSON.parse(JSON.stringify(events, (k, v: unknown) => (k === 'id' || k === 'item_id' || k === 'created_at' ? '' : v))) as unknown[];
}

describe('reasoning items', () => {
  test('a non-streamed response keeps its reasoning item and summary; reasoning tokens are recorded', async () => {
    s.fake.next({ reasoningSummary: SUMMARY, text: 'The second.', usage: { reasoningTokens: 42 } });
    const r = await client.responses.create(ask);
    expect(r.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(r.output[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: summaryOf(SUMMARY) });
    expect(r.output_text).toBe('The second.');
    expect(r.usage).toMatchObject({ output_tokens: 44, output_tokens_details: { reasoning_tokens: 42 } });
    expect(s.fake.calls[0]?.body).toMatchObject({ reasoning: { effort: 'medium', summary: 'auto' } });
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', endpoint: 'responses', response: { status: 200, usageSource: 'provider' } });
    expect(x!.response.usage).toMatchObject({ completionTokens: 44, reasoningTokens: 42 });
  });

  test('a stream hands on every reasoning event, in order and unchanged; reasoning tokens are recorded', async () => {
    const scenario = { reasoningSummary: SUMMARY, text: 'The second.', usage: { reasoningTokens: 42 } };
    s.fake.next(scenario);
    const viaGateway: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of await client.responses.create({ ...ask, stream: true })) viaGateway.push(e);
    s.fake.next(scenario);
    const straight: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of await direct.responses.create({ ...ask, stream: true })) straight.push(e);

    expect(shape(viaGateway)).toEqual(shape(straight));
    const types = viaGateway.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.reasoning_summary_part.added',
    ]);
    const texts = viaGateway.flatMap((e) => (e.type === 'response.reasoning_summary_text.done' ? [e.text] : []));
    expect(texts).toEqual(SUMMARY);
    const deltas = viaGateway.flatMap((e) => (e.type === 'response.reasoning_summary_text.delta' ? [`${e.summary_index}:${e.delta}`] : []));
    expect(deltas.length).toBeGreaterThan(SUMMARY.length);
    expect(viaGateway.map((e) => e.sequence_number)).toEqual(viaGateway.map((_, i) => i));
    const completed = viaGateway.at(-1);
    expect(completed?.type === 'response.completed' && completed.response.output[0]).toMatchObject({ type: 'reasoning', summary: summaryOf(SUMMARY) });

    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', response: { usageSource: 'provider', finishReason: 'completed' } });
    expect(x!.response.usage).toMatchObject({ completionTokens: 44, reasoningTokens: 42 });
  });

  test('the SDK\'s stream helper assembles the reasoning item as the provider sent it', async () => {
    s.fake.next({ reasoningSummary: SUMMARY });
    const final = await client.responses.stream(ask).finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'reasoning', summary: summaryOf(SUMMARY) });
  });
});

describe('in-stream errors', () => {
  test('the error event reaches the client numbered right after the last event before it', async () => {
    s.fake.next({ text: 'a b c d e', midStreamError: { afterChunks: 2, message: 'boom', errorType: 'server_error' } });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of await client.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true })) events.push(e);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)).toEqual({ type: 'error', code: 'server_error', message: 'boom', param: null, sequence_number: events.length - 1 });
  });
});

describe('embeddings limits, as OpenAI answers them', () => {
  test('dimensions for text-embedding-ada-002 is a 400 in OpenAI\'s shape', async () => {
    const err = await client.embeddings.create({ model: 'text-embedding-ada-002', input: 'x', dimensions: 512 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      message: 'This model does not support specifying dimensions.', type: 'invalid_request_error',
    });
    expect(s.fake.calls.at(-1)?.status).toBe(400);
  });

  test('more than 2048 inputs is a 400 naming input', async () => {
    const err = await client.embeddings.create({ model: 'text-embedding-3-small', input: Array.from({ length: 2049 }, (_, i) => `w${i}`) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'input', type: 'invalid_request_error' });
  });
});
