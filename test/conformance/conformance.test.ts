import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  anthropicProvider,
  azureProvider,
  compatibleProvider,
  geminiProvider,
  openaiProvider,
  type Endpoint,
  type Provider,
  type ProviderTarget,
  type SseOut,
  type TranslateContext,
} from '@watchllm/providers';
import { describe, expect, test } from 'vitest';

/**
 * One suite, every provider: each fixture is a recorded exchange (client request, the request the
 * provider must receive, the provider's answer, and what the client must get back). Adding a provider
 * means adding fixtures, not test code.
 */
interface Fixture {
  description: string;
  provider: string;
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  target: ProviderTarget;
  apiKey: string;
  ctx: TranslateContext;
  request: Record<string, unknown>;
  expectUpstream: { url: string; method: string; headers: Record<string, string>; body?: unknown };
  upstreamResponse?: unknown;
  expectResponse?: unknown;
  upstreamEvents?: Array<{ event?: string; data: unknown }>;
  expectEvents?: unknown[];
}

const PROVIDERS: Record<string, Provider> = {
  openai: openaiProvider,
  anthropic: anthropicProvider,
  gemini: geminiProvider,
  azure: azureProvider,
  groq: compatibleProvider('groq'),
};

const root = join(import.meta.dirname, 'fixtures');
const suites = readdirSync(root).map((dir) => ({
  dir,
  fixtures: readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: f, fx: JSON.parse(readFileSync(join(root, dir, f), 'utf8')) as Fixture })),
}));

describe.each(suites)('provider $dir', ({ dir, fixtures }) => {
  const provider = PROVIDERS[dir];
  test('is registered in the conformance suite', () => {
    expect(provider, `add '${dir}' to PROVIDERS`).toBeDefined();
  });
  if (!provider) return;

  describe.each(fixtures)('$file', ({ fx }) => {
    test(`builds the provider request: ${fx.description}`, () => {
      const req = provider.buildRequest(
        { endpoint: fx.endpoint, body: fx.request, model: fx.model, stream: fx.stream, apiKey: fx.apiKey, passHeaders: {} },
        fx.target,
      );
      expect(req.url).toBe(fx.expectUpstream.url);
      expect(req.method).toBe(fx.expectUpstream.method);
      expect(req.headers).toMatchObject(fx.expectUpstream.headers);
      if (fx.expectUpstream.body !== undefined) expect(JSON.parse(req.body ?? 'null')).toEqual(fx.expectUpstream.body);
    });

    if (fx.upstreamResponse !== undefined) {
      test('maps the provider answer to the OpenAI answer', () => {
        const out = provider.wire === 'openai' ? fx.upstreamResponse : provider.toOpenaiResponse!(fx.endpoint, fx.upstreamResponse, fx.ctx);
        expect(out).toEqual(fx.expectResponse);
      });
    }

    if (fx.upstreamEvents !== undefined && provider.wire !== 'openai') {
      test('maps the provider stream to OpenAI chunks, in order', () => {
        const t = provider.createStreamTranslator!(fx.endpoint, fx.ctx);
        const out: SseOut[] = [];
        for (const ev of fx.upstreamEvents!) out.push(...t.push({ event: ev.event, data: JSON.stringify(ev.data) }));
        out.push(...t.finish());
        expect(out.map((o) => o.data)).toEqual(fx.expectEvents);
      });
    }
  });
});
