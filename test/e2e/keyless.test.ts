import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * A self-hosted OpenAI-compatible host that takes calls without a key (vLLM without --api-key,
 * Ollama, TGI), declared with `keyless: true`: a gateway-key caller reaches it although the gateway
 * holds no key for it, and no Authorization header is sent. Without the flag such a caller is told
 * the gateway holds no key.
 */
const KEY = 'wl_keyless_tenant_0123456789abcdef';
let upstream: Server;
let s: Stack;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'cmpl-1', object: 'chat.completion', created: 1, model: 'meta-llama/Llama-3-8B',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi from vllm' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
      }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
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
  await new Promise<void>((r) => upstream.close(() => r()));
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
