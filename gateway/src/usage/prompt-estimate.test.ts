import { describe, expect, test } from 'vitest';
import { estimatePromptTokens, IMAGE_TOKENS, SCAN_ABOVE_BYTES } from './prompt-estimate.ts';

/** An ~800 KB JPEG, base64 (1.07 MB of text). */
const B64 = Buffer.alloc(800 * 1024, 7).toString('base64');
const question = 'what is in this picture?';
const sized = (body: unknown) => ({ body, bytes: Buffer.byteLength(JSON.stringify(body)) });
/** What the body holds besides the image, at bytes / 4. */
const textOf = (bytes: number, payload = B64.length) => Math.ceil((bytes - payload) / 4);

describe('estimatePromptTokens', () => {
  test('an ordinary request is bytes / 4, without looking inside', () => {
    const { body, bytes } = sized({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi '.repeat(1000) }] });
    expect(estimatePromptTokens(body, bytes)).toBe(Math.ceil(bytes / 4));
    // small bodies are not scanned, whatever they hold
    const small = sized({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(4000)}` } }] }] });
    expect(small.bytes).toBeLessThan(SCAN_ABOVE_BYTES);
    expect(estimatePromptTokens(small.body, small.bytes)).toBe(Math.ceil(small.bytes / 4));
  });

  test('a large text prompt is still bytes / 4', () => {
    const { body, bytes } = sized({ messages: [{ role: 'user', content: 'lorem ipsum '.repeat(20_000) }] });
    expect(bytes).toBeGreaterThan(SCAN_ABOVE_BYTES);
    expect(estimatePromptTokens(body, bytes)).toBe(Math.ceil(bytes / 4));
  });

  test('OpenAI chat image_url data URL: one image allowance instead of its base64', () => {
    const url = `data:image/jpeg;base64,${B64}`;
    const { body, bytes } = sized({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: question }, { type: 'image_url', image_url: { url, detail: 'high' } }] }] });
    const n = estimatePromptTokens(body, bytes);
    expect(n).toBe(textOf(bytes, url.length) + IMAGE_TOKENS);
    expect(n).toBeLessThan(2000);
  });

  test('Responses input_image (image_url is the data URL itself)', () => {
    const url = `data:image/png;base64,${B64}`;
    const { body, bytes } = sized({ model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_text', text: question }, { type: 'input_image', image_url: url }] }] });
    expect(estimatePromptTokens(body, bytes)).toBe(textOf(bytes, url.length) + IMAGE_TOKENS);
  });

  test('Anthropic base64 image source', () => {
    const { body, bytes } = sized({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: B64 } }, { type: 'text', text: question }] }],
    });
    expect(estimatePromptTokens(body, bytes)).toBe(textOf(bytes) + IMAGE_TOKENS);
  });

  test.each([
    ['inline_data', { inline_data: { mime_type: 'image/png', data: B64 } }],
    ['inlineData', { inlineData: { mimeType: 'image/png', data: B64 } }],
  ])('Gemini-style %s', (_name, part) => {
    const { body, bytes } = sized({ contents: [{ role: 'user', parts: [{ text: question }, part] }] });
    expect(estimatePromptTokens(body, bytes)).toBe(textOf(bytes) + IMAGE_TOKENS);
  });

  test('each image counts once: three images, three allowances', () => {
    const url = `data:image/webp;base64,${B64.slice(0, 100_000)}`;
    const { body, bytes } = sized({ messages: [{ role: 'user', content: [1, 2, 3].map(() => ({ type: 'image_url', image_url: { url } })) }] });
    expect(estimatePromptTokens(body, bytes)).toBe(textOf(bytes, 3 * url.length) + 3 * IMAGE_TOKENS);
  });

  test('base64 that is not an image (a PDF) stays counted as text', () => {
    const { body, bytes } = sized({ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: B64 } }] }] });
    expect(estimatePromptTokens(body, bytes)).toBe(Math.ceil(bytes / 4));
  });

  test('no parsed body: bytes / 4', () => {
    expect(estimatePromptTokens(null, 100_000)).toBe(25_000);
  });
});
