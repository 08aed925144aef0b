/**
 * Aliases: a name clients send that the operator maps to a model (`aliases:` in watchllm.yaml), so
 * the model behind `fast` can change without touching any app. The call is routed as the model and
 * recorded as the name; every check about models (policies, a key's allowed models) sees the model
 * the call really reaches.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const KEY = 'wl_aliases_0123456789abcdefghijk';
const GPT_ONLY = 'wl_aliases_gpt_only_0123456789ab';
const FAST_ONLY = 'wl_aliases_fast_only_0123456789a';

let s: Stack;
let gw: OpenAI;

beforeAll(async () => {
  s = await startStack({
    yaml: [
      'aliases:',
      '  fast: anthropic/claude-haiku-4-5',
      '  Default-Chat: gpt-4o-mini',
      '  smart: claude-3-opus-latest',
      'fallbacks:',
      '  gpt-4o: [fast]',
      '  "gpt-4.1": [gpt-4o-mini, claude-sonnet-4-5]',
      'balance:',
      '  team: [{ model: fast }, { model: default-chat }]',
      'keys:',
      `  - { name: app, project: acme, key: ${KEY} }`,
      `  - { name: gpt-only, project: acme, key: ${GPT_ONLY}, allowed_models: ["gpt-*"] }`,
      `  - { name: fast-only, project: acme, key: ${FAST_ONLY}, allowed_models: ["fast"] }`,
      'policies:',
      '  - { name: no-opus, deny_models: ["claude-3-opus*"], action: deny }',
      '  - { name: legacy-to-fast, match: { model: "legacy-chat" }, action: rewrite, rewrite: { set_model: fast } }',
      '  - { name: downgrade-41, match: { model: "gpt-4.1" }, action: rewrite, rewrite: { set_model: gpt-4o-mini } }',
    ].join('\n'),
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held-openai', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' },
  });
  gw = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(() => s?.close());
beforeEach(() => s.fake.reset());

const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hello there' }] });
const lastEvent = async () => (await s.waitForEvents(s.events.length))[s.events.length - 1]!;

describe('aliases', () => {
  test('an alias is routed as its model (another provider, translated) and recorded as the name the client sent', async () => {
    const data = await gw.chat.completions.create(ask('fast'));
    expect(data.choices[0]?.message.content).toContain('Hello from fake claude-haiku-4-5');
    expect(s.fake.calls.map((c) => `${c.path} ${String(c.body?.['model'])}`)).toEqual(['/v1/messages claude-haiku-4-5']);
    expect(s.fake.calls[0]?.headers['x-api-key']).toBe('sk-ant-held');
    const x = await lastEvent();
    expect(x.request.model).toBe('fast');
    expect(x.route).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    // priced as the model it reached
    expect(x.costUsd).toBeGreaterThan(0);
  });

  test('names match in any case; streams too', async () => {
    const stream = await gw.chat.completions.create({ ...ask('default-chat'), stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('Hello from fake gpt-4o-mini');
    expect(s.fake.calls.map((c) => `${c.path} ${String(c.body?.['model'])}`)).toEqual(['/v1/chat/completions gpt-4o-mini']);
  });

  test("a policy about the model the alias reaches applies: the deny names both", async () => {
    const err = await gw.chat.completions.create(ask('smart')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).message).toContain('"smart" (routed to "anthropic/claude-3-opus-latest")');
    expect(s.fake.calls).toHaveLength(0);
  });

  test("a key's allowed models are checked against the model the alias reaches", async () => {
    const scoped = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: GPT_ONLY, maxRetries: 0 });
    expect((await scoped.chat.completions.create(ask('Default-Chat'))).choices).toHaveLength(1);
    const err = await scoped.chat.completions.create(ask('fast')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err).toMatchObject({ code: 'model_not_allowed' });
    expect(s.fake.calls).toHaveLength(1);
  });

  test("a caller's own provider key follows the alias to its provider, as routing by name does", async () => {
    const byok = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-caller-own-openai-key', maxRetries: 0 });
    await byok.chat.completions.create(ask('default-chat'));
    expect(s.fake.calls[0]?.headers['authorization']).toBe('Bearer sk-caller-own-openai-key');
  });

  test('a name that is no alias is routed as before', async () => {
    await gw.chat.completions.create(ask('gpt-4o'));
    expect(s.fake.calls.map((c) => String(c.body?.['model']))).toEqual(['gpt-4o']);
    expect((await lastEvent()).request.model).toBe('gpt-4o');
  });
});

describe('an alias wherever a model is named', () => {
  const calls = () => s.fake.calls.map((c) => `${c.path} ${String(c.body?.['model'])} ${c.status}`);

  test('in a fallback chain (config or header): the fallback goes to the model the alias stands for, recorded as the alias', async () => {
    s.fake.next({ status: 503 });
    const { response } = await gw.chat.completions.create(ask('gpt-4o')).withResponse();
    expect(response.headers.get('x-watchllm-fallback')).toBe('anthropic/claude-haiku-4-5');
    expect(calls()).toEqual(['/v1/chat/completions gpt-4o 503', '/v1/messages claude-haiku-4-5 200']);
    expect((await lastEvent()).request.model).toBe('fast');

    s.fake.reset();
    s.fake.next({ status: 503 });
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-watchllm-fallbacks': 'FAST' },
      body: JSON.stringify(ask('gpt-4o-mini')),
    });
    expect(r.status).toBe(200);
    expect(calls()).toEqual(['/v1/chat/completions gpt-4o-mini 503', '/v1/messages claude-haiku-4-5 200']);
  });

  test('as a balance target, and in a policy set_model', async () => {
    await gw.chat.completions.create(ask('team'));
    await gw.chat.completions.create(ask('team'));
    expect(calls().sort()).toEqual(['/v1/chat/completions gpt-4o-mini 200', '/v1/messages claude-haiku-4-5 200']);
    s.fake.reset();
    await gw.chat.completions.create(ask('legacy-chat'));
    expect(calls()).toEqual(['/v1/messages claude-haiku-4-5 200']);
  });

  test('a key allowed an alias may call it', async () => {
    const fast = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: FAST_ONLY, maxRetries: 0 });
    expect((await fast.chat.completions.create(ask('fast'))).choices).toHaveLength(1);
  });

  test('an alias this surface cannot reach is refused under its own name', async () => {
    const r = await fetch(`${s.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default-chat', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("model 'default-chat'");
    expect((await lastEvent()).request.model).toBe('default-chat');
  });

  test('a model a policy rewrote the call to is not tried again as its fallback', async () => {
    s.fake.next({ status: 503 });
    const r = await gw.chat.completions.create(ask('gpt-4.1'));
    expect(r.model).toBe('claude-sonnet-4-5');
    expect(calls()).toEqual(['/v1/chat/completions gpt-4o-mini 503', '/v1/messages claude-sonnet-4-5 200']);
  });
});
