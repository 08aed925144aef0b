import type { IncomingHttpHeaders } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { startKeylessHost } from '../support/keyless-host.ts';

/**
 * A self-hosted OpenAI-compatible host that takes calls without a key (vLLM without --api-key,
 * Ollama, TGI), declared with `keyless: true`: a gateway-key caller reaches it although the gateway
 * holds no key for it, and no Authorization header is sent. Without the flag such a caller is told
 * the gateway holds no key.
 */
const KEY = 'wl_keyless_tenant_0123456789abcdef';
let host: Awaited<ReturnType<typeof startKeylessHost>>;
let s: Stack;
let seen: IncomingHttpHeaders[];

beforeAll(async () => {
  host = await startKeylessHost();
  seen = host.seen;
  const url = host.url;
  s = await startStack({
    yaml: [
      'providers:',
      `  my-vllm: { kind: openai-compatible, base_url: "${url}", keyless: true, models: ["meta-llama/*"] }`,
      `  my-tgi: { kind: openai-compatible, base_url: "${url}", models: ["tgi-*"] }`,
      'keys:',
      `  - { name: app, project: acme, key: ${KEY} }`,
    ].join('\n'),
  });
});
afterAll(async () => {
  await s.close();
  await host.close();
});

describe('keyless hosts', () => {
  const client = () => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });

  test('a gateway-key call reaches a keyless: true host, with no Authorization sent', async () => {
    const r = await client().chat.completions.create({ model: 'meta-llama/Llama-3-8B', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]?.message.content).toBe('hi from vllm');
    expect(seen.at(-1)?.['authorization']).toBeUndefined();
  });

  test('without keyless, the gateway says it holds no key for that provider (401), and calls nothing', async () => {
    const before = seen.length;
    const err = await client().chat.completions.create({ model: 'tgi-mistral', messages: [{ role: 'user', content: 'hi' }] }).then(
      () => null,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
    expect(err?.status).toBe(401);
    expect(err?.message).toContain("holds no key for provider 'my-tgi'");
    expect(seen.length).toBe(before);
  });
});
