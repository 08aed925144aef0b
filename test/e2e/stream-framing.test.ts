import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * A provider whose SSE bytes arrive cut at arbitrary places (as TCP delivers them): events split
 * across reads, several events in one read, CRLF line endings. The gateway must forward every
 * event intact and still drop the usage chunk it asked for on the client's behalf.
 */
const chunk = (content: string | null, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }], usage: null });
const usage = JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

/** The events with each line ended by `eol` and each event by a blank line ended by `blank`. */
function sse(eol: string, blank: string): string {
  return [chunk('Hello'), chunk(', wor'), chunk('ld'), chunk(null, 'stop'), usage, '[DONE]'].map((d) => `data: ${d}${eol}${blank}`).join('');
}

let upstream: Server;
let s: Stack;
let eol = '\n';
let blank = '\n';
let piece = 7;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const bytes = Buffer.from(sse(eol, blank));
      for (let i = 0; i < bytes.length; i += piece) {
        res.write(bytes.subarray(i, i + piece));
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  s = await startStack({ env: { WATCHLLM_GROQ_BASE_URL: `http://127.0.0.1:${port}/v1` } });
});
afterAll(async () => {
  await s.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

describe('streams cut at arbitrary byte positions', () => {
  test.each([
    ['LF, 7-byte reads', '\n', '\n', 7],
    ['LF, 1-byte reads', '\n', '\n', 1],
    ['CRLF, 13-byte reads', '\r\n', '\r\n', 13],
    ['LF, one read', '\n', '\n', 100_000],
    // every line ending the SSE spec allows
    ['CR only, 5-byte reads', '\r', '\r', 5],
    ['LF lines and CRLF blank lines, 9-byte reads', '\n', '\r\n', 9],
    ['CRLF lines and LF blank lines, 11-byte reads', '\r\n', '\n', 11],
  ] as const)('%s: every event arrives whole, the injected usage chunk does not', async (_name, lineEnd, blankLine, size) => {
    eol = lineEnd;
    blank = blankLine;
    piece = size;
    s.events.length = 0;
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'gsk-test', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'groq/llama-3.1-8b-instant', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    let sawUsage = false;
    let usageKey = false;
    let finish: string | null = null;
    for await (const c of stream) {
      if (c.usage) sawUsage = true;
      // the usage:null the provider adds once the gateway turned include_usage on is not passed on
      if ('usage' in c) usageKey = true;
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('Hello, world');
    expect(finish).toBe('stop');
    expect(sawUsage).toBe(false);
    expect(usageKey).toBe(false);
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', response: { usageSource: 'provider', usage: { promptTokens: 7, completionTokens: 3 } } });
  });
});

describe('raw pass-through (the client asked for usage itself) with every SSE line ending', () => {
  test.each([
    ['CR only', '\r', '\r', 5],
    ['LF lines and CRLF blank lines', '\n', '\r\n', 9],
  ] as const)('%s: the answer and the usage arrive, the call is a success', async (_name, lineEnd, blankLine, size) => {
    eol = lineEnd;
    blank = blankLine;
    piece = size;
    s.events.length = 0;
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'gsk-test', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'groq/llama-3.1-8b-instant',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    let sawUsage = false;
    for await (const c of stream) {
      if (c.usage) sawUsage = true;
      text += c.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello, world');
    expect(sawUsage).toBe(true);
    const [x] = await s.waitForEvents(1);
    expect(x).toMatchObject({ outcome: 'success', response: { usageSource: 'provider' } });
  });
});
