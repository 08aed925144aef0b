import { describe, expect, test } from 'vitest';
import { resolveRoute } from './routing.ts';

const known = new Set(['openai', 'anthropic', 'gemini', 'groq', 'openrouter', 'azure', 'xai', 'deepseek', 'mistral']);
const route = (model: string, providerHeader: string | null = null, defaultProvider = 'openai') =>
  resolveRoute({ model, providerHeader, known, defaultProvider });

describe('resolveRoute', () => {
  test.each([
    ['anthropic/claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5'],
    ['groq/llama-3.1-8b-instant', 'groq', 'llama-3.1-8b-instant'],
    ['openrouter/meta-llama/llama-3-70b', 'openrouter', 'meta-llama/llama-3-70b'],
    ['gpt-4o-mini', 'openai', 'gpt-4o-mini'],
    ['o3-mini', 'openai', 'o3-mini'],
    ['text-embedding-3-small', 'openai', 'text-embedding-3-small'],
    ['claude-3-5-haiku-latest', 'anthropic', 'claude-3-5-haiku-latest'],
    ['gemini-2.5-flash', 'gemini', 'gemini-2.5-flash'],
    ['grok-4', 'xai', 'grok-4'],
    ['deepseek-chat', 'deepseek', 'deepseek-chat'],
    ['mistral-large-latest', 'mistral', 'mistral-large-latest'],
    ['some-local-model', 'openai', 'some-local-model'],
  ] as const)('routes %s to %s as %s', (model, provider, upstream) => {
    expect(route(model)).toEqual({ ok: true, provider, model: upstream });
  });

  test.each([
    ['Claude-haiku-4-5', 'anthropic', 'Claude-haiku-4-5'],
    ['CLAUDE-SONNET-4-5', 'anthropic', 'CLAUDE-SONNET-4-5'],
    ['Gemini-2.5-flash', 'gemini', 'Gemini-2.5-flash'],
    ['GPT-4o', 'openai', 'GPT-4o'],
    ['Grok-4', 'xai', 'Grok-4'],
    ['Anthropic/claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5'],
    ['GROQ/Llama-3.1-8b-instant', 'groq', 'Llama-3.1-8b-instant'],
  ] as const)('names are matched whatever their case: %s goes to %s as %s (the client\'s spelling kept)', (model, provider, upstream) => {
    expect(route(model)).toEqual({ ok: true, provider, model: upstream });
  });

  test('a header strips its own prefix whatever its case', () => {
    expect(route('Groq/llama-3', 'groq')).toEqual({ ok: true, provider: 'groq', model: 'llama-3' });
  });

  test('an unknown prefix in capitals is still an error, not a guess', () => {
    expect(route('Nope/claude-haiku-4-5')).toMatchObject({ ok: false, code: 'unknown_provider' });
  });

  test('the x-watchllm-provider header wins over model patterns', () => {
    expect(route('gpt-4o', 'azure')).toEqual({ ok: true, provider: 'azure', model: 'gpt-4o' });
  });

  test('a header keeps org/model names whole but strips its own prefix', () => {
    expect(route('meta-llama/llama-3-70b', 'openrouter')).toEqual({ ok: true, provider: 'openrouter', model: 'meta-llama/llama-3-70b' });
    expect(route('groq/llama-3', 'groq')).toEqual({ ok: true, provider: 'groq', model: 'llama-3' });
  });

  test('an org/model name a configured glob declares routes whole to that provider (vLLM, Hugging Face names)', () => {
    const patterns = [{ provider: 'my-vllm', pattern: /^meta-llama\/.*$/i }];
    const withVllm = new Set([...known, 'my-vllm']);
    const r = resolveRoute({ model: 'meta-llama/Llama-3-8B', providerHeader: null, known: withVllm, defaultProvider: 'openai', patterns });
    expect(r).toEqual({ ok: true, provider: 'my-vllm', model: 'meta-llama/Llama-3-8B' });
    // a glob does not rescue other unknown prefixes
    expect(resolveRoute({ model: 'mistralai/Mistral-7B', providerHeader: null, known: withVllm, defaultProvider: 'openai', patterns })).toMatchObject({
      ok: false,
      code: 'unknown_provider',
    });
  });

  test('an unknown prefix is an error naming the known providers, not a guess', () => {
    const r = route('nope/some-model');
    expect(r).toMatchObject({ ok: false, param: 'model' });
    expect(r.ok ? '' : r.message).toContain("Unknown provider 'nope'");
    expect(r.ok ? '' : r.message).toContain('anthropic');
  });

  test.each([
    ['openai/', null],
    ['anthropic/', null],
    ['groq/', 'groq'],
  ] as const)('a bare provider prefix (%s) is an error on model, never a call with an empty model', (model, header) => {
    const r = route(model, header);
    expect(r).toMatchObject({ ok: false, param: 'model', code: 'missing_model' });
    expect(r.ok ? '' : r.message).toContain(`'${model}<model>'`);
  });

  test('an unknown provider header is an error on that header', () => {
    expect(route('gpt-4o', 'foo')).toMatchObject({ ok: false, param: 'x-watchllm-provider' });
  });

  test('unmatched names go to the configured default', () => {
    expect(route('llama3.2', null, 'groq')).toEqual({ ok: true, provider: 'groq', model: 'llama3.2' });
  });

  test('patterns only route to providers that are configured', () => {
    const r = resolveRoute({ model: 'claude-3', providerHeader: null, known: new Set(['openai']), defaultProvider: 'openai' });
    expect(r).toEqual({ ok: true, provider: 'openai', model: 'claude-3' });
  });
});
