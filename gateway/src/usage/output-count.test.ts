import { describe, expect, test } from 'vitest';
import { countTokens } from './estimate.ts';
import { OutputTokenCount } from './output-count.ts';

/** Splits `text` into pieces of `size` characters, as a provider streams it. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function counted(parts: readonly string[]): number {
  const c = new OutputTokenCount();
  let n = 0;
  for (const p of parts) n = c.push(p);
  return n;
}

const WORDS = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
const PROSE = 'The quick brown fox, it said, jumps over the lazy dog.\n\nThen it rests!\nThe end:  two  spaces.\n';
const CODE = 'function add(a, b) {\n  return a + b; // sum\n}\n\nconsole.log(add(1, 2));\n';

describe('OutputTokenCount', () => {
  test.each([
    { title: 'words streamed as "word5 " pieces', parts: WORDS.split(/(?<= )/) },
    { title: 'words cut anywhere, in pieces of 7 characters', parts: pieces(WORDS, 7) },
    { title: 'prose with punctuation, line breaks and double spaces, 3 characters at a time', parts: pieces(PROSE, 3) },
    { title: 'code, one character at a time', parts: pieces(CODE, 1) },
    { title: 'the same code in pieces of 5', parts: pieces(CODE, 5) },
  ])('counts what the joined text counts: $title', ({ parts }) => {
    expect(counted(parts)).toBe(countTokens(parts.join('')));
  });

  test('counts "word5 " pieces at their joined count, where counted apart they count about 1.5x', () => {
    const parts = WORDS.split(/(?<= )/);
    const apart = parts.reduce((n, p) => n + countTokens(p), 0);
    expect(apart).toBeGreaterThan(countTokens(WORDS) * 1.3);
    expect(counted(parts)).toBe(countTokens(WORDS));
  });

  test('text without whitespace (CJK) is counted in bounded pieces, at least what it counts joined', () => {
    const text = '日本語のテキストです。'.repeat(100);
    const n = counted(pieces(text, 4));
    expect(n).toBeGreaterThanOrEqual(countTokens(text));
    expect(n).toBeLessThanOrEqual(countTokens(text) * 1.05);
  });

  test('the running count is there after every piece: what was streamed so far, joined', () => {
    const c = new OutputTokenCount();
    expect(c.tokens).toBe(0);
    expect(c.push('')).toBe(0);
    expect(c.push('Hello')).toBe(countTokens('Hello'));
    expect(c.push(' world')).toBe(countTokens('Hello world'));
    // a space at the end counts until the next word takes it
    expect(c.push(' ')).toBe(countTokens('Hello world '));
    expect(c.push('again')).toBe(countTokens('Hello world again'));
  });
});
