/**
 * `byok: {allowed: false}`: every call presents a gateway key. A keyless host (vLLM, Ollama) needs no
 * provider key, so a caller sending no credentials at all must be refused too, before the host is
 * called, or it would reach it anonymously and under no per-key limit.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { openaiError, post } from './processes.ts';
import { startKeylessHost } from '../support/keyless-host.ts';

const KEY = 'wl_byok_required_tenant_0123456789';
let host: Awaited<ReturnType<typeof startKeylessHost>>;
const hits = () => host.seen.length;
const stacks = new Map<'off' | 'on', Stack>();
const stack = (which: 'off' | 'on'): Stack => stacks.get(which)!;

beforeAll(async () => {
  host = await startKeylessHost();
  const url = host.url;
  for (const allowed of [false, true]) {
    stacks.set(allowed ? 'on' : 'off', await startStack({
      yaml: [
        'providers:',
        `  my-vllm: { kind: openai-compatible, base_url: "${url}", keyless: true, models: ["meta-llama/*"] }`,
        `byok: { allowed: ${allowed} }`,
        'limits:',
        '  key: { rpm: 2 }',
        'keys:',
        `  - { name: app, project: acme, key: ${KEY} }`,
      ].join('\n'),
    }));
  }
});
afterAll(async () => {
  await Promise.all([...stacks.values()].map((s) => s.close()));
  await host.close();
});

const llama = { model: 'meta-llama/Llama-3-8B', messages: [{ role: 'user', content: 'hi' }] };

describe('byok.allowed: false with a keyless host', () => {
  test('a call without any credentials is refused with 401 gateway_key_required and never reaches the host', async () => {
    const before = hits();
    const r = await post(`${stack('off').url}/v1/chat/completions`, llama);
    expect(r.status).toBe(401);
    expect(openaiError(r)).toMatchObject({ type: 'authentication_error', code: 'gateway_key_required' });
    expect(hits()).toBe(before);
    const [x] = (await stack('off').waitForEvents(1)).slice(-1);
    expect(x).toMatchObject({ outcome: 'unauthorized', auth: { mode: 'none' } });
  });

  test('a gateway key reaches it, under its per-key limit', async () => {
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await post(`${stack('off').url}/v1/chat/completions`, llama, { authorization: `Bearer ${KEY}` }));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
  });
});

describe('byok.allowed: true (the default) with a keyless host', () => {
  test('a call without credentials still works', async () => {
    const r = await post(`${stack('on').url}/v1/chat/completions`, llama);
    expect(r.status).toBe(200);
    expect(r.text).toContain('hi from vllm');
  });
});
