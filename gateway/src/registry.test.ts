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
});
