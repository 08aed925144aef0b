import { priceFor, type Endpoint } from '@watchllm/providers';
import { describe, expect, test } from 'vitest';
import { createExchange, type Exchange } from '../exchange.ts';
import { toRow } from '../events/row.ts';
import { answerNamesModel, imagesStoredBody, readMediaAnswer, settleMediaCost } from './media.ts';

function answered(endpoint: Endpoint, model: string, body: Record<string, unknown> = {}): Exchange {
  const x = createExchange({ id: 'r1', surface: 'openai', endpoint, method: 'POST', path: '/', ip: null, userAgent: null, now: 0, t0: 0 });
  x.request.body = body;
  x.request.model = typeof body['model'] === 'string' ? body['model'] : null;
  x.route = { provider: 'openai', model };
  x.upstream.status = 200;
  x.response.status = 200;
  return x;
}

describe('settleMediaCost', () => {
  test.each([
    ['a free moderation: $0, priced', 'moderations', 'omni-moderation-latest', {}, 0, false],
    ['tts-1 by the character (15 characters at $15/M)', 'speech', 'tts-1', { input: 'Hello, world! 👋' }, (15 * 15) / 1e6, false],
    ['dall-e-3 per image (standard 1024x1024: $0.04)', 'images', 'dall-e-3', {}, 0.04, false],
    ['dall-e-3, two HD wide images ($0.12 each)', 'images', 'dall-e-3', { n: 2, quality: 'hd', size: '1792x1024' }, 0.24, false],
    ['an image model without a price: unknown (NULL), never $0', 'images', 'imagen-9', {}, null, true],
    ['whisper-1 without usage: unknown', 'transcriptions', 'whisper-1', {}, null, true],
    ['gpt-4o-mini-tts without usage: unknown', 'speech', 'gpt-4o-mini-tts', { input: 'hi' }, null, true],
  ] as const)('%s', (_name, endpoint, model, body, cost, unmetered) => {
    const x = answered(endpoint, model, body);
    settleMediaCost(x, priceFor('openai', model));
    expect(x.costUsd).toBe(cost);
    expect(x.unmetered).toBe(unmetered);
    const row = toRow(x, { storeBodies: false });
    expect(row).toMatchObject({ cost_usd: cost, priced: !unmetered, prompt_tokens: 0 });
  });

  test('usage the provider reported is priced as any call (gpt-image-1)', () => {
    const x = answered('images', 'gpt-image-1');
    readMediaAnswer(x, { data: [], usage: { input_tokens: 10, output_tokens: 1000, input_tokens_details: { text_tokens: 10, image_tokens: 0 } } });
    settleMediaCost(x, priceFor('openai', 'gpt-image-1'));
    expect(x.costUsd).toBe((10 * 5 + 1000 * 40) / 1e6);
    expect(x.response.usageSource).toBe('provider');
  });

  test('a call the provider did not answer (an error, never sent) is left as it is', () => {
    const x = answered('images', 'dall-e-3');
    x.upstream.status = 400;
    settleMediaCost(x, null);
    expect(x).toMatchObject({ costUsd: null, unmetered: false });
  });
});

describe('readMediaAnswer', () => {
  test('a moderation that named no model is recorded as the model its answer names', () => {
    const x = answered('moderations', '');
    readMediaAnswer(x, { id: 'modr-1', model: 'omni-moderation-2024-09-26', results: [] });
    expect(x.request.model).toBe('omni-moderation-2024-09-26');
    expect(x.route).toEqual({ provider: 'openai', model: 'omni-moderation-2024-09-26' });
    expect(answerNamesModel(x)).toBe(true);
  });

  test('a moderation that named its model keeps it', () => {
    const x = answered('moderations', 'omni-moderation-latest', { model: 'omni-moderation-latest' });
    readMediaAnswer(x, { model: 'omni-moderation-2024-09-26', results: [] });
    expect(x.request.model).toBe('omni-moderation-latest');
    expect(answerNamesModel(x)).toBe(false);
  });
});

describe('imagesStoredBody', () => {
  test("an image's base64 is stored as its size; urls and usage stay", () => {
    const b64 = 'A'.repeat(100_000);
    const stored = imagesStoredBody({ created: 1, data: [{ b64_json: b64 }, { url: 'https://x/y.png' }], usage: { input_tokens: 1 } });
    expect(JSON.parse(stored)).toEqual({ created: 1, data: [{ b64_json: '[base64: 100000 characters]' }, { url: 'https://x/y.png' }], usage: { input_tokens: 1 } });
  });
});
