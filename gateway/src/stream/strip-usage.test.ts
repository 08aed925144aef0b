import { describe, expect, test } from 'vitest';
import { carriesUsage, CompleteEvents, eventStart, stripUsage } from './strip-usage.ts';

const chunk = (content: string | null, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }], usage: null });
const usage = JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
const sse = (datas: string[], eol = '\n') => Buffer.from(datas.map((d) => `data: ${d}${eol}${eol}`).join(''));
/** What a client that did not ask for usage gets from the provider without the gateway. */
const withoutUsage = (d: string) => d.replace(',"usage":null', '');

describe('stripUsage', () => {
  test.each(['\n', '\r\n'])('the usage-only event and every "usage":null leave; the rest is byte for byte the provider\'s (eol %j)', (eol) => {
    const events = sse([chunk('Hello'), chunk(' world'), chunk(null, 'stop'), usage, '[DONE]'], eol);
    expect(carriesUsage(events)).toBe(true);
    expect(stripUsage(events).toString()).toBe(sse([chunk('Hello'), chunk(' world'), chunk(null, 'stop')].map(withoutUsage).concat('[DONE]'), eol).toString());
  });

  test('text that only looks like usage inside an answer is the answer: JSON escapes its quotes', () => {
    const tricky = chunk('a literal ,"usage":null and "choices":[] in the text');
    const events = sse([tricky]);
    expect(stripUsage(events).toString()).toBe(sse([withoutUsage(tricky)]).toString());
    expect(stripUsage(events).toString()).toContain('a literal ,\\"usage\\":null and \\"choices\\":[] in the text');
  });

  test('the usage-only event alone, or first in the bytes, leaves whole', () => {
    expect(stripUsage(sse([usage])).length).toBe(0);
    expect(stripUsage(sse([usage, '[DONE]'])).toString()).toBe('data: [DONE]\n\n');
  });

  test('nothing to cut: the same buffer back', () => {
    const events = sse(['{"id":"c1","choices":[{"index":0,"delta":{"content":"x"}}]}']);
    expect(carriesUsage(events)).toBe(false);
    expect(stripUsage(events)).toBe(events);
  });

  test("a chunk with no choices and no usage is not the gateway's: Azure's prompt filter results stay", () => {
    const filters = JSON.stringify({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] });
    const events = sse([filters, chunk('Hi'), chunk(null, 'stop'), usage, '[DONE]']);
    expect(stripUsage(events).toString()).toBe(sse([filters, ...[chunk('Hi'), chunk(null, 'stop')].map(withoutUsage), '[DONE]']).toString());
  });
});

describe('eventStart', () => {
  test.each(['\n', '\r\n'])('at the end of the bytes: where the complete events end (eol %j)', (eol) => {
    const whole = sse([chunk('a'), chunk('b')], eol);
    expect(eventStart(whole, whole.length)).toBe(whole.length);
    const cut = Buffer.concat([whole, Buffer.from('data: {"id":"c1","obj')]);
    expect(eventStart(cut, cut.length)).toBe(whole.length);
    expect(eventStart(Buffer.from('data: {"id"'), 11)).toBe(0);
  });
});

describe('CompleteEvents', () => {
  const events = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\ndata: {"c":3}\n\r\ndata: {"d":4}\r\rdata: [DONE]\n\n';

  test.each([1, 2, 3, 5, 8, 1000])('read %i bytes at a time, every event comes out whole, once, in order', (size) => {
    const c = new CompleteEvents();
    const out: string[] = [];
    const bytes = Buffer.from(events);
    for (let i = 0; i < bytes.length; i += size) {
      const done = c.push(bytes.subarray(i, i + size));
      if (done !== null) {
        out.push(done.toString());
        // what comes out always ends with a blank line
        expect(done.toString()).toMatch(/(\n\n|\r\n\r\n|\n\r\n|\r\r)$/);
      }
    }
    expect(out.join('')).toBe(events);
    expect(c.rest()).toBeNull();
  });

  test('an event of megabytes in small reads is held as it came, then handed back whole', () => {
    const c = new CompleteEvents();
    const big = `data: ${'x'.repeat(4_000_000)}\n\n`;
    const bytes = Buffer.from(`${big}data: {"tail":`);
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 16_384) {
      const done = c.push(bytes.subarray(i, i + 16_384));
      if (done) out.push(done);
    }
    expect(Buffer.concat(out).toString()).toBe(big);
    expect(c.rest()?.toString()).toBe('data: {"tail":');
  });
});
