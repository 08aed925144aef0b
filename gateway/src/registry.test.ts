import { describe, expect, test } from 'vitest';
import { configSchema } from './config/schema.ts';
import { buildRegistry } from './registry.ts';

describe('buildRegistry', () => {
  test('model globs of a configured provider route case-insensitively, like policy and key-scope globs', () => {
    const config = configSchema.parse({ providers: { groq: { models: ['llama-3.?-*'] } } });
    const r = buildRegistry(config);
    const route = (model: string) => r.patterns.find((p) => p.pattern.test(model))?.provider;
    expect(route('llama-3.1-8b-instant')).toBe('groq');
    expect(route('Llama-3.3-70B-Versatile')).toBe('groq');
    expect(route('llama-4-scout')).toBeUndefined();
    // literal dots: `3.?` is not a regular expression
    expect(route('llama-3x1-8b')).toBeUndefined();
  });

  test('the keyless local hosts (ollama, vllm) are known only once declared, in the file or by their base URL variable', () => {
    const ids = (providers: Record<string, unknown>) => buildRegistry(configSchema.parse({ providers })).ids;
    expect([...ids({})].filter((id) => id === 'ollama' || id === 'vllm')).toEqual([]);
    const declared = ids({ ollama: {}, vllm: { base_url: 'http://10.0.0.5:8000/v1' } });
    expect(declared.has('ollama')).toBe(true);
    expect(declared.has('vllm')).toBe(true);
    expect(buildRegistry(configSchema.parse({ providers: { ollama: {} } })).get('ollama')?.target.baseUrl).toBe('http://127.0.0.1:11434/v1');
  });

  test('stream usage is asked for by default, not of mistral (its API refuses the field), and as configured', () => {
    const streamUsage = (providers: Record<string, unknown>) => {
      const r = buildRegistry(configSchema.parse({ providers }));
      return (id: string) => r.get(id)?.streamUsage;
    };
    const builtIn = streamUsage({});
    expect(builtIn('openai')).toBe(true);
    expect(builtIn('groq')).toBe(true);
    expect(builtIn('mistral')).toBe(false);
    const configured = streamUsage({
      mistral: { stream_usage: true },
      groq: { stream_usage: false },
      'my-host': { kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', stream_usage: false },
      other: { kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' },
      // Mistral's API under another id keeps Mistral's default
      'mistral-eu': { base_url: 'https://API.mistral.ai/v1' },
    });
    expect(configured('mistral-eu')).toBe(false);
    expect(configured('mistral')).toBe(true);
    expect(configured('groq')).toBe(false);
    expect(configured('my-host')).toBe(false);
    expect(configured('other')).toBe(true);
  });
});
