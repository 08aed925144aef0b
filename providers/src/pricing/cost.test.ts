import { describe, expect, test } from 'vitest';
import type { Usage } from '../types.ts';
import { characterCostUsd, costUsd, imagesCostUsd, isFree, KNOWN_UNPRICED, priceFor, priceOverrideSchema } from './cost.ts';
import { PRICES, priceSchema } from './prices.ts';

const usage = (u: Partial<Usage>): Usage => ({ promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, ...u });

function price(provider: string, model: string) {
  const p = priceFor(provider, model);
  if (!p) throw new Error(`no price for ${provider}/${model}`);
  return p;
}

describe('costUsd golden values', () => {
  test.each([
    // 1000 uncached * 2.50 + 1000 cached * 1.25 + 500 out * 10 = 2500 + 1250 + 5000 micro-USD
    ['openai', 'gpt-4o', usage({ promptTokens: 2000, cachedTokens: 1000, completionTokens: 500 }), 0.00875],
    // reasoning tokens sit inside completionTokens and cost output: (1000*2 + 3000*8) / 1e6
    ['openai', 'o3', usage({ promptTokens: 1000, completionTokens: 3000, reasoningTokens: 2500 }), 0.026],
    // Anthropic: 100 uncached * 3 + 2000 write * 3.75 + 5000 read * 0.30 + 400 out * 15
    ['anthropic', 'claude-sonnet-4-5', usage({ promptTokens: 7100, cacheWriteTokens: 2000, cachedTokens: 5000, completionTokens: 400 }), 0.0153],
    // 1-hour cache writes cost 2x input: 100k * 6 (not 100k * 3.75 = $0.375 as 5-minute writes)
    ['anthropic', 'claude-sonnet-4-5', usage({ promptTokens: 100_000, cacheWriteTokens: 100_000, cacheWrite1hTokens: 100_000 }), 0.6],
    // a mix: 10 uncached * 3 + 1000 5-minute writes * 3.75 + 3000 1-hour writes * 6 + 100 out * 15
    ['anthropic', 'claude-sonnet-4-5', usage({ promptTokens: 4010, cacheWriteTokens: 4000, cacheWrite1hTokens: 3000, completionTokens: 100 }), 0.02328],
    // Haiku 3's 1-hour write is 2x its input too: 1000 * 0.50
    ['anthropic', 'claude-3-haiku-20240307', usage({ promptTokens: 1000, cacheWriteTokens: 1000, cacheWrite1hTokens: 1000 }), 0.0005],
    // above 200k (Sonnet 4.5 1M-context) the 1-hour write is 2x the long-context input: 250k * 12
    ['anthropic', 'claude-sonnet-4-5', usage({ promptTokens: 250_000, cacheWriteTokens: 250_000, cacheWrite1hTokens: 250_000 }), 3],
    // Opus 4.5: 10 * 5 + 1000 write * 6.25 + 1000 read * 0.5 + 100 * 25
    ['anthropic', 'claude-opus-4-5-20251101', usage({ promptTokens: 2010, cacheWriteTokens: 1000, cachedTokens: 1000, completionTokens: 100 }), 0.0093],
    // Gemini 2.5 Flash with thoughts counted as completion: 900 * 0.30 + 100 * 0.03 + 1200 * 2.50
    ['gemini', 'gemini-2.5-flash', usage({ promptTokens: 1000, cachedTokens: 100, completionTokens: 1200, reasoningTokens: 1000 }), 0.003273],
    // the 2.5 Flash previews had prices of their own: 1000 * 0.15 + 1000 * 0.60 without thinking...
    ['gemini', 'gemini-2.5-flash-preview-05-20', usage({ promptTokens: 1000, completionTokens: 1000 }), 0.00075],
    // ...and all output at 3.50 with it: 1000 * 0.15 + 1200 * 3.50
    ['gemini', 'models/gemini-2.5-flash-preview-04-17', usage({ promptTokens: 1000, completionTokens: 1200, reasoningTokens: 1000 }), 0.00435],
    // above 200k prompt tokens the whole request moves to the long-context rates: 250k * 2.5 + 1000 * 15
    ['gemini', 'gemini-2.5-pro', usage({ promptTokens: 250_000, completionTokens: 1000 }), 0.64],
    ['gemini', 'gemini-2.5-pro', usage({ promptTokens: 200_000, completionTokens: 1000 }), 0.26],
    ['openai', 'text-embedding-3-small', usage({ promptTokens: 1_000_000 }), 0.02],
    ['azure', 'gpt-4o-mini', usage({ promptTokens: 1_000_000, completionTokens: 1_000_000 }), 0.75],
  ] as const)('%s/%s %j costs %f USD', (provider, model, u, expected) => {
    expect(costUsd(price(provider, model), u)).toBe(expected);
  });

  test('a provider without a cache discount prices cached tokens at the input rate', () => {
    expect(costUsd({ input: 1, output: 2 }, usage({ promptTokens: 1000, cachedTokens: 1000, completionTokens: 1000 }))).toBe(0.003);
  });

  test('1-hour writes cost cacheWrite when a price has no cacheWrite1h, and never count beyond the writes', () => {
    expect(costUsd({ input: 1, output: 0, cacheWrite: 2 }, usage({ promptTokens: 1000, cacheWriteTokens: 1000, cacheWrite1hTokens: 1000 }))).toBe(0.002);
    expect(costUsd({ input: 1, output: 0, cacheWrite: 2, cacheWrite1h: 4 }, usage({ promptTokens: 1000, cacheWriteTokens: 500, cacheWrite1hTokens: 900 }))).toBe(0.0025);
  });

  test('inconsistent usage (more cached than prompt) never makes uncached input negative', () => {
    expect(costUsd({ input: 1, output: 0, cachedInput: 0.5 }, usage({ promptTokens: 10, cachedTokens: 20 }))).toBe(0.00001);
  });
});

describe('priceFor', () => {
  test.each([
    ['openai', 'gpt-4o-2024-08-06', 'gpt-4o'],
    ['openai', 'gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai', 'GPT-4.1-2025-04-14', 'gpt-4.1'],
    ['anthropic', 'claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['anthropic', 'claude-3-7-sonnet-latest', 'claude-3-7-sonnet'],
    ['anthropic', 'claude-sonnet-4@20250514', 'claude-sonnet-4'],
    ['gemini', 'models/gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['gemini', 'gemini-2.5-flash-preview-09-2025', 'gemini-2.5-flash'],
    ['gemini', 'gemini-2.5-flash-lite-preview-06-17', 'gemini-2.5-flash-lite'],
  ] as const)('snapshot %s/%s resolves to %s', (provider, model, base) => {
    expect(priceFor(provider, model)).toBe(PRICES[provider]?.[base]);
  });

  test('a snapshot priced differently from its family keeps its own row', () => {
    expect(priceFor('openai', 'gpt-4o-2024-05-13')).toEqual({ input: 5, output: 15 });
  });

  test.each([
    ['openai', 'gpt-4o-audio-preview'],
    ['openai', 'gpt-4o-realtime-preview-2024-12-17'],
    ['openai', 'gpt-99'],
    ['deepseek', 'deepseek-chat'],
    ['mistral', 'mistral-large-latest'],
    ['nowhere', 'gpt-4o'],
    ['ollama', 'llama3'],
  ] as const)('%s/%s is unknown: null, never a zero price', (provider, model) => {
    expect(priceFor(provider, model)).toBeNull();
  });

  test('azure models price as openai', () => {
    expect(priceFor('azure', 'gpt-4.1-mini')).toEqual({ input: 0.4, output: 1.6, cachedInput: 0.1 });
  });

  test('a config override wins over the table, for snapshots too, and can price a known-unpriced model', () => {
    const overrides = priceOverrideSchema.parse({
      'openai/GPT-4o': { input: 2, output: 8, cached_input: 1 },
      'deepseek/deepseek-chat': { input: 0.28, output: 0.42, cached_input: 0.028 },
      'azure/gpt-4.1': { input: 2.2, output: 8.8 },
    });
    expect(priceFor('openai', 'gpt-4o', overrides)).toEqual({ input: 2, output: 8, cachedInput: 1 });
    expect(priceFor('openai', 'gpt-4o-2024-11-20', overrides)).toEqual({ input: 2, output: 8, cachedInput: 1 });
    expect(priceFor('deepseek', 'deepseek-chat', overrides)).toEqual({ input: 0.28, output: 0.42, cachedInput: 0.028 });
    expect(priceFor('azure', 'gpt-4.1', overrides)).toEqual({ input: 2.2, output: 8.8 });
    const claude = priceOverrideSchema.parse({ 'anthropic/claude-sonnet-4-5': { input: 3, output: 15, cache_write: 3.75, cache_write_1h: 6 } });
    expect(priceFor('anthropic', 'claude-sonnet-4-5', claude)).toEqual({ input: 3, output: 15, cacheWrite: 3.75, cacheWrite1h: 6 });
    expect(priceFor('openai', 'gpt-4.1', overrides)).toBe(PRICES['openai']?.['gpt-4.1']);
  });
});

describe('priceFor billsAs', () => {
  test('a provider under an id of its own bills as the provider it is declared like (Azure as OpenAI); its own overrides win', () => {
    expect(priceFor('openai-eu', 'gpt-4o')).toBeNull();
    expect(priceFor('openai-eu', 'gpt-4o', undefined, 'openai')).toEqual(priceFor('openai', 'gpt-4o'));
    expect(priceFor('azure-eu', 'gpt-4o', undefined, 'azure')).toEqual(priceFor('openai', 'gpt-4o'));
    const overrides = priceOverrideSchema.parse({ 'openai-eu/gpt-4o': { input: 1, output: 2 } });
    expect(priceFor('openai-eu', 'gpt-4o', overrides, 'openai')).toMatchObject({ input: 1, output: 2 });
  });
});

describe('priceOverrideSchema', () => {
  test.each([
    [{ 'gpt-4o': { input: 1, output: 1 } }, 'key without provider'],
    [{ 'openai/gpt-4o': { input: -1, output: 1 } }, 'negative price'],
    [{ 'openai/gpt-4o': { input: 1 } }, 'missing output'],
    [{ 'openai/gpt-4o': { input: 1, output: 1, cachedInput: 0.5 } }, 'camelCase key (config is snake_case)'],
  ] as const)('rejects %j (%s)', (value, _why) => {
    expect(priceOverrideSchema.safeParse(value).success).toBe(false);
  });
});

describe('the table', () => {
  test('every row is a valid price and no known-unpriced model has a row', () => {
    for (const [provider, models] of Object.entries(PRICES)) {
      for (const [model, p] of Object.entries(models)) {
        expect(priceSchema.safeParse(p).success).toBe(true);
        expect(KNOWN_UNPRICED.has(`${provider}/${model}`)).toBe(false);
      }
    }
  });

  test('Anthropic 5-minute cache writes cost 1.25x input and reads 0.1x', () => {
    const sonnet = price('anthropic', 'claude-sonnet-4-5');
    expect(sonnet.cacheWrite).toBeCloseTo(3.75, 10);
    expect(sonnet.cachedInput).toBeCloseTo(0.3, 10);
  });

  test('every Anthropic row prices 1-hour cache writes at 2x its input (long-context rates too)', () => {
    for (const [model, p] of Object.entries(PRICES['anthropic'] ?? {})) {
      for (const r of [p, ...(p.longContext ? [p.longContext] : [])]) expect(r.cacheWrite1h, model).toBeCloseTo(r.input * 2, 10);
    }
  });
});

describe('media prices', () => {
  test('gpt-image-1: text input $5/M, image input $10/M, output $40/M', () => {
    // 100 text * 5 + 400 image * 10 + 1056 out * 40
    expect(costUsd(price('openai', 'gpt-image-1'), usage({ promptTokens: 500, imageInputTokens: 400, completionTokens: 1056 }))).toBe(0.046740);
    // a price without an image rate prices image tokens as input
    expect(costUsd(price('openai', 'gpt-4o'), usage({ promptTokens: 1000, imageInputTokens: 1000 }))).toBe(0.0025);
  });

  test('gpt-4o-transcribe: text input $2.50/M, audio input $6/M, output $10/M; gpt-4o-mini-transcribe half', () => {
    // 6 text * 2.5 + 14 audio * 6 + 45 out * 10
    expect(costUsd(price('openai', 'gpt-4o-transcribe'), usage({ promptTokens: 20, audioInputTokens: 14, completionTokens: 45 }))).toBe(0.000549);
    expect(costUsd(price('openai', 'gpt-4o-mini-transcribe'), usage({ promptTokens: 20, audioInputTokens: 14, completionTokens: 45 }))).toBe(0.0002745);
    // an override sets the audio rate
    const o = priceOverrideSchema.parse({ 'my-host/stt': { input: 1, output: 2, audio_input: 3 } });
    expect(priceFor('my-host', 'stt', o)).toEqual({ input: 1, output: 2, audioInput: 3 });
  });

  test('overrides take per_image (USD per image), which imagesCostUsd reads', () => {
    const o = priceOverrideSchema.parse({ 'my-host/flux-dev': { input: 0, output: 0, per_image: { '1024x1024': 0.025 } } });
    const p = priceFor('my-host', 'flux-dev', o)!;
    expect(p).toEqual({ input: 0, output: 0, perImage: { '1024x1024': 0.025 } });
    expect(imagesCostUsd(p, 4, undefined, '1024x1024')).toBe(0.1);
    expect(isFree(p)).toBe(false);
    expect(() => priceOverrideSchema.parse({ 'my-host/flux-dev': { input: 0, output: 0, per_image: { '1024x1024': -1 } } })).toThrow();
  });

  test('gpt-4o-mini-tts: text input $0.60/M, audio output $12/M (from its sse usage)', () => {
    expect(costUsd(price('openai', 'gpt-4o-mini-tts'), usage({ promptTokens: 10, completionTokens: 1000 }))).toBe(0.012006);
  });

  test('tts-1 and tts-1-hd bill per character; other prices have no character rate', () => {
    expect(characterCostUsd(price('openai', 'tts-1'), 1000)).toBe(0.015);
    expect(characterCostUsd(price('openai', 'tts-1-hd'), 1000)).toBe(0.03);
    expect(characterCostUsd(price('openai', 'gpt-4o'), 1000)).toBeNull();
  });

  test.each(['omni-moderation-latest', 'omni-moderation-2024-09-26', 'text-moderation-007', 'text-moderation-stable'])('%s is free: priced at $0, not unknown', (model) => {
    expect(isFree(price('openai', model))).toBe(true);
  });

  test('dall-e is priced per image, by quality and size; paid models are not free', () => {
    const d3 = price('openai', 'dall-e-3');
    expect(imagesCostUsd(d3, 1, undefined, undefined)).toBe(0.04);
    expect(imagesCostUsd(d3, 2, 'hd', '1792x1024')).toBe(0.24);
    // a quality or size the table does not list costs its dearest image
    expect(imagesCostUsd(d3, 1, 'auto', 'auto')).toBe(0.12);
    expect(imagesCostUsd(price('openai', 'dall-e-2'), 3, undefined, '256x256')).toBe(0.048);
    expect(imagesCostUsd(price('openai', 'gpt-image-1'), 1, 'low', '1024x1024')).toBeNull();
    expect(isFree(d3)).toBe(false);
    expect(isFree(price('openai', 'tts-1'))).toBe(false);
    expect(isFree(price('openai', 'gpt-image-1'))).toBe(false);
  });

  test('overrides take image_input and characters', () => {
    const o = priceOverrideSchema.parse({ 'openai/tts-2': { input: 0, output: 0, characters: 20 }, 'openai/img-2': { input: 1, output: 2, image_input: 3 } });
    expect(priceFor('openai', 'tts-2', o)).toEqual({ input: 0, output: 0, characters: 20 });
    expect(priceFor('openai', 'img-2', o)).toEqual({ input: 1, output: 2, imageInput: 3 });
  });
});
