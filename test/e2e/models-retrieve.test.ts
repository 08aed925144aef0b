import { request } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { ANTHROPIC_MODELS } from '../fake-provider/anthropic.ts';

/**
 * GET /v1/models/{model}, the SDKs' `models.retrieve(id)`: routed by the model like a call to it
 * (prefix, globs, well-known names), forwarded to the provider's own retrieve endpoint, and answered
 * in the shape of the SDK that asked; a model the provider does not know is its 404, in that shape.
 */
let s: Stack;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  s = await startStack({
    env: (fake) => ({ WATCHLLM_AZURE_BASE_URL: fake }),
    yaml: (fake) => `providers:\n  my-vllm: { kind: openai-compatible, base_url: "${fake}/v1", models: ["meta-llama/*"] }\n`,
  });
  openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-key', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test-key', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

describe('the openai SDK retrieves a model', () => {
  test('of OpenAI: forwarded to /models/{id}, answered as OpenAI sent it, recorded as a models call', async () => {
    const m = await openai.models.retrieve('gpt-4o-mini');
    expect(m).toEqual({ id: 'gpt-4o-mini', object: 'model', created: 1715367049, owned_by: 'system' });
    expect(s.fake.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models/gpt-4o-mini', headers: { authorization: 'Bearer sk-test-key' } });
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', endpoint: 'models', route: { provider: 'openai', model: 'gpt-4o-mini' }, response: { status: 200 } });
  });

  test('that OpenAI does not know: its 404 model_not_found, which the SDK raises as NotFoundError', async () => {
    const err = await openai.models.retrieve('unknown-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', error: { type: 'invalid_request_error' } });
  });

  test("of Anthropic, by name or by prefix: Anthropic's model as an OpenAI model object", async () => {
    const m = await openai.models.retrieve('claude-sonnet-4-5');
    expect(m).toEqual({ id: 'claude-sonnet-4-5', object: 'model', created: Date.parse('2025-02-19T00:00:00Z') / 1000, owned_by: 'anthropic' });
    expect(s.fake.calls[0]).toMatchObject({ path: '/v1/models/claude-sonnet-4-5', headers: { 'x-api-key': 'sk-test-key', 'anthropic-version': '2023-06-01' } });
    expect(await openai.models.retrieve('anthropic/claude-opus-4-1')).toMatchObject({ id: 'claude-opus-4-1', object: 'model' });
    expect(s.fake.calls[1]?.path).toBe('/v1/models/claude-opus-4-1');
  });

  test("that Anthropic does not know: a 404 in OpenAI's error shape", async () => {
    const err = await openai.models.retrieve('anthropic/unknown-claude').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, error: { type: 'not_found_error', message: 'model: unknown-claude' } });
  });

  test('whose id holds a slash, sent encoded by the SDK or as is by curl, from the provider whose glob matches it', async () => {
    expect(await openai.models.retrieve('meta-llama/Llama-3-8B')).toMatchObject({ id: 'meta-llama/Llama-3-8B', object: 'model' });
    const r = await fetch(`${s.url}/v1/models/meta-llama/Llama-3-8B`, { headers: { authorization: 'Bearer sk-test-key' } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ id: 'meta-llama/Llama-3-8B', object: 'model' });
    expect(s.fake.calls.map((c) => c.path)).toEqual(['/v1/models/meta-llama%2FLlama-3-8B', '/v1/models/meta-llama%2FLlama-3-8B']);
    const events = await s.waitForEvents(2);
    for (const x of events) expect(x.route).toEqual({ provider: 'my-vllm', model: 'meta-llama/Llama-3-8B' });
  });

  test("of Azure: the resource's model, from /openai/models/{id} with the api-version", async () => {
    expect(await openai.models.retrieve('azure/gpt-4o')).toMatchObject({ id: 'gpt-4o', object: 'model', status: 'succeeded' });
    expect(s.fake.calls[0]).toMatchObject({ path: '/openai/models/gpt-4o', query: { 'api-version': expect.any(String) } });
    await expect(openai.models.retrieve('azure/unknown-model')).rejects.toMatchObject({ status: 404, code: 'NotFound' });
  });

  test('of Gemini: refused as the list is, before anything is sent', async () => {
    await expect(openai.models.retrieve('gemini-2.5-flash')).rejects.toMatchObject({ status: 400, code: 'unsupported_endpoint' });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('a path that is no model id (bad percent-encoding, a dot segment) is a 400, never forwarded', async () => {
    // node:http sends the path as written (fetch would resolve the dot segments itself)
    const get = (path: string) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        request(new URL(s.url), { path, headers: { authorization: 'Bearer sk-test-key' } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        })
          .on('error', reject)
          .end();
      });
    for (const id of ['%E0%A4%A', '..', '%2e%2E']) {
      expect(await get(`/v1/models/${id}`)).toMatchObject({
        status: 400,
        body: { error: { type: 'invalid_request_error', code: 'invalid_request', param: 'model' } },
      });
    }
    expect(s.fake.calls).toHaveLength(0);
  });
});

describe('the anthropic SDK retrieves a model', () => {
  test("in Anthropic's shape, from Anthropic", async () => {
    const m = await anthropic.models.retrieve('claude-sonnet-4-5');
    expect(m).toEqual({ type: 'model', id: 'claude-sonnet-4-5', display_name: 'claude-sonnet-4-5', created_at: '2025-02-19T00:00:00Z' });
    expect(s.fake.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models/claude-sonnet-4-5', headers: { 'x-api-key': 'sk-ant-test-key' } });
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ surface: 'anthropic', endpoint: 'models', route: { provider: 'anthropic', model: 'claude-sonnet-4-5' } });
  });

  test('that Anthropic does not know: NotFoundError with Anthropic\'s error body', async () => {
    const err = await anthropic.models.retrieve('unknown-claude').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err).toMatchObject({ status: 404, error: { type: 'error', error: { type: 'not_found_error', message: 'model: unknown-claude' } } });
  });
});

describe("Anthropic's model list for the openai SDK", () => {
  test("is translated into OpenAI's list, asking Anthropic for its largest page (OpenAI's list has none)", async () => {
    const page = await openai.models.list({ headers: { 'x-watchllm-provider': 'anthropic' } });
    expect(page.data.map((m) => m.id)).toEqual([...ANTHROPIC_MODELS]);
    expect(page.data[0]).toEqual({ id: ANTHROPIC_MODELS[0], object: 'model', created: expect.any(Number), owned_by: 'anthropic' });
    expect(s.fake.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models', query: { limit: '1000' } });
  });

  test("the anthropic SDK's own list pages as it asks (no limit added)", async () => {
    const ids: string[] = [];
    for await (const m of anthropic.models.list()) ids.push(m.id);
    expect(ids).toEqual([...ANTHROPIC_MODELS]);
    expect(s.fake.calls[0]!.query['limit']).toBeUndefined();
  });
});
