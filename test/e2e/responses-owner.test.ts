/**
 * Stored responses are their maker's: the gateway keys of two projects that use the OpenAI key the
 * gateway holds share one provider account, which holds both projects' responses. A response one
 * project made is not readable, deletable, cancellable or continuable (`previous_response_id`) with
 * the other's key: the gateway answers as OpenAI does for an id it does not hold, sends nothing, and
 * records the refusal. The maker keeps every right; responses the gateway never saw made are let through.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const ACME = 'wl_owner_acme_0123456789abcdef';
const ACME_CI = 'wl_owner_acmeci_0123456789abcd';
const GLOBEX = 'wl_owner_globex_0123456789abcd';

const YAML = `
cache: { max_entries: 5 }
keys:
  - { name: app, project: acme, key: ${ACME} }
  - { name: ci, project: acme, key: ${ACME_CI} }
  - { name: app, project: globex, key: ${GLOBEX} }
`;

let s: Stack;
const client = (apiKey: string) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0 });
let acme: OpenAI;
let globex: OpenAI;

beforeAll(async () => {
  s = await startStack({ yaml: YAML, env: { WATCHLLM_OPENAI_API_KEY: 'sk-held' } });
  acme = client(ACME);
  globex = client(GLOBEX);
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

/** What the other project gets for each stored-response call on `id`, none of which reaches the provider. */
async function refusedEverywhere(id: string): Promise<void> {
  const before = s.fake.calls.length;
  const notFound = { status: 404, error: { message: `Response with id '${id}' not found.`, type: 'invalid_request_error', param: null, code: null } };
  for (const attempt of [
    () => globex.responses.retrieve(id),
    () => globex.responses.inputItems.list(id),
    () => globex.responses.cancel(id),
    () => globex.responses.delete(id),
  ]) {
    const err = await attempt().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject(notFound);
  }
  // continuing it: what OpenAI answers for a previous_response_id it does not hold
  const next = await globex.responses.create({ model: 'gpt-4o-mini', input: 'and then?', previous_response_id: id }).catch((e: unknown) => e);
  expect(next).toBeInstanceOf(OpenAI.BadRequestError);
  expect(next).toMatchObject({
    status: 400,
    error: { message: `Previous response with id '${id}' not found.`, type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' },
  });
  expect(s.fake.calls.length).toBe(before);
}

describe('a response made with one project’s key', () => {
  test('another project cannot read, list, cancel, delete or continue it; the maker (any key of its project) can', async () => {
    const made = await acme.responses.create({ model: 'gpt-4o-mini', input: 'my secret plan' });
    await refusedEverywhere(made.id);

    const events = await s.waitForEvents(6);
    // each refusal is one event, of the caller, its status and the provider's message, nothing sent
    expect(events.slice(1).map((x) => [x.method, x.path.split('?')[0], x.response.status, x.outcome, x.auth.project, x.upstream.sentAt])).toEqual([
      ['GET', `/v1/responses/${made.id}`, 404, 'invalid', 'globex', null],
      ['GET', `/v1/responses/${made.id}/input_items`, 404, 'invalid', 'globex', null],
      ['POST', `/v1/responses/${made.id}/cancel`, 404, 'invalid', 'globex', null],
      ['DELETE', `/v1/responses/${made.id}`, 404, 'invalid', 'globex', null],
      ['POST', '/v1/responses', 400, 'invalid', 'globex', null],
    ]);
    expect(events[1]).toMatchObject({ error: { message: `Response with id '${made.id}' not found.` }, response: { usage: null }, costUsd: null });

    // the maker still has it all, with another key of its project too
    expect(await acme.responses.retrieve(made.id)).toEqual(made);
    const items = await client(ACME_CI).responses.inputItems.list(made.id);
    expect(JSON.stringify(items.data)).toContain('my secret plan');
    const next = await acme.responses.create({ model: 'gpt-4o-mini', input: 'and then?', previous_response_id: made.id });
    expect(next).toMatchObject({ status: 'completed', previous_response_id: made.id });
    expect(await acme.responses.delete(made.id)).toMatchObject({ id: made.id, deleted: true });
    expect(s.fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /v1/responses',
      `GET /v1/responses/${made.id}`,
      `GET /v1/responses/${made.id}/input_items`,
      'POST /v1/responses',
      `DELETE /v1/responses/${made.id}`,
    ]);
    // the continuation is the maker's own too
    await refusedEverywhere(next.id);
  });

  test('streamed: owned from its first event, even when the stream is cut right after it', async () => {
    const stream = await acme.responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true });
    let id = '';
    for await (const ev of stream) if (ev.type === 'response.created') id = ev.response.id;
    expect(id).toMatch(/^resp_/);
    await refusedEverywhere(id);
    expect(await acme.responses.retrieve(id)).toMatchObject({ id, status: 'completed' });

    s.fake.next({ dropAfterChunks: 1 });
    const cut = await fetch(`${s.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ACME}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', stream: true }),
    });
    const text = await cut.text();
    expect(text).toContain('upstream_stream_cut');
    const cutId = /"response":\{"id":"(resp_\w+)"/.exec(text)?.[1];
    expect(cutId).toMatch(/^resp_/);
    await refusedEverywhere(cutId!);
    expect(await acme.responses.retrieve(cutId!)).toMatchObject({ id: cutId });
  });

  test('background: only the maker polls it, and only the maker is billed its usage', async () => {
    const made = await acme.responses.create({ model: 'gpt-4o-mini', input: 'count my words', background: true });
    expect(made).toMatchObject({ status: 'queued' });
    await refusedEverywhere(made.id);
    expect(await acme.responses.retrieve(made.id)).toMatchObject({ status: 'completed', usage: { input_tokens: 3 } });

    const events = await s.waitForEvents(7);
    for (const x of events.slice(1, 6)) expect(x).toMatchObject({ auth: { project: 'globex' }, response: { usage: null }, costUsd: null });
    expect(events[6]).toMatchObject({ auth: { project: 'acme' }, response: { usageSource: 'provider', usage: { promptTokens: 3 } } });
    expect(events[6]!.costUsd).toBeGreaterThan(0);
  });

  test('with callers’ own provider keys: each key’s responses are its own', async () => {
    const mine = client('sk-byok-one');
    const made = await mine.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    const err = await client('sk-byok-two').responses.retrieve(made.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, error: { message: `Response with id '${made.id}' not found.` } });
    expect(await mine.responses.retrieve(made.id)).toMatchObject({ id: made.id });
    expect(s.fake.calls).toHaveLength(2);
  });

  test('filling the answers cache does not evict ownership: they are kept apart', async () => {
    const made = await acme.responses.create({ model: 'gpt-4o-mini', input: 'project acme secret' });
    // another project fills the (5-entry) in-process cache with answers of its own
    const filler = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: GLOBEX, maxRetries: 0, defaultHeaders: { 'x-watchllm-cache': 'on' } });
    for (let i = 0; i < 12; i++) await filler.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `filler ${i}` }] });
    await refusedEverywhere(made.id);
  });

  test('a response the gateway never saw made has no owner to check: let through', async () => {
    const outside = await fetch(`${s.fake.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-held', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'made directly' }),
    });
    const { id } = (await outside.json()) as { id: string };
    expect(await globex.responses.retrieve(id)).toMatchObject({ id });
  });
});
