import { describe, expect, test } from 'vitest';
import { forEachText, mapText, REQUEST_ROOTS } from './text.ts';

const texts = (body: Record<string, unknown>): string[] => {
  const out: string[] = [];
  forEachText(body, REQUEST_ROOTS, (s) => out.push(s));
  return out;
};

/** An Anthropic conversation: a tool call whose input has keys named like wire structure, a text document, an image. */
const body = {
  messages: [
    {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'fetch', input: { url: 'https://x.example/?k=SECRET-1', name: 'SECRET-2', nested: { id: 'SECRET-3' } } }],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: 'SECRET-4' },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'SECRET-5' } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      ],
    },
  ],
};

describe('signed thinking', () => {
  test('is read (deny and flag rules see it) but never rewritten, on both surfaces; unsigned reasoning is', () => {
    const signed = { type: 'thinking', thinking: 'mail SECRET-1', signature: 'c2ln' };
    const request = {
      messages: [
        { role: 'assistant', content: [signed, { type: 'text', text: 'SECRET-2' }] },
        { role: 'assistant', content: 'SECRET-3', thinking_blocks: [signed], reasoning_content: 'SECRET-4' },
      ],
    };
    expect(texts(request)).toEqual(['mail SECRET-1', 'SECRET-2', 'SECRET-3', 'mail SECRET-1', 'SECRET-4']);
    const out = mapText(request, REQUEST_ROOTS, (s) => s.replace(/SECRET-\d/g, '[X]'));
    expect(out).toEqual({
      messages: [
        { role: 'assistant', content: [signed, { type: 'text', text: '[X]' }] },
        { role: 'assistant', content: '[X]', thinking_blocks: [signed], reasoning_content: '[X]' },
      ],
    });
  });
});

describe('where the text of a call lives', () => {
  test("a tool call's input is the caller's data: keys named url, name or id in it are text too", () => {
    const seen = texts(body);
    for (const s of ['https://x.example/?k=SECRET-1', 'SECRET-2', 'SECRET-3', 'SECRET-4', 'SECRET-5']) expect(seen).toContain(s);
  });

  test('structure stays out: block ids, tool names, roles, base64 image data', () => {
    const seen = texts(body);
    for (const s of ['toolu_1', 'fetch', 'assistant', 'iVBORw0KGgo=']) expect(seen).not.toContain(s);
  });

  test('mapText rewrites the same strings, and leaves structure as it was', () => {
    const out = mapText(body, REQUEST_ROOTS, (s) => s.replace(/SECRET-\d/g, '[X]')) as typeof body;
    expect(JSON.stringify(out)).not.toMatch(/SECRET-\d/);
    expect(JSON.stringify(out)).toContain('"id":"toolu_1"');
    expect(JSON.stringify(out)).toContain('iVBORw0KGgo=');
    expect(JSON.stringify(body)).toMatch(/SECRET-1/); // the input is never mutated
  });
});
