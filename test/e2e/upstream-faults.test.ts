import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { brotliCompressSync, createDeflate, gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { durations } from '@watchllm/gateway';
import { startStack, type Stack } from './harness.ts';

/**
 * A provider host that answers, but not as the gateway expects: a failure that takes time, a page
 * that is not JSON, a compressed body, an error body in another API's shape, a Responses answer
 * that failed, a host (Mistral) that refuses the usage option of streams. The client always gets
 * something its SDK understands, and the event records what happened and how long the provider took.
 */
type Behaviour = (res: ServerResponse, req: { body: string; url: string }) => void;
let behave: Behaviour = (res) => res.end();
let upstream: Server;
let s: Stack;
/** The bodies the host received, in order. */
const received: Array<{ url: string; body: string }> = [];

const COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'llama-3.1-8b-instant',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
};

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      behave(res, r);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
  s = await startStack({
    yaml: 'server:\n  stream_idle_timeout_ms: 400\n',
    env: { WATCHLLM_GROQ_BASE_URL: base, WATCHLLM_MISTRAL_BASE_URL: base, WATCHLLM_DEEPSEEK_BASE_URL: base },
  });
});
afterAll(async () => {
  await s.close();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});
beforeEach(() => {
  s.events.length = 0;
  received.length = 0;
});

type APIError = InstanceType<typeof OpenAI.APIError>;
const client = (opts: { timeoutMs?: number } = {}) =>
  new OpenAI({
    baseURL: `${s.url}/v1`,
    apiKey: 'gsk-test',
    maxRetries: 0,
    ...(opts.timeoutMs ? { defaultHeaders: { 'x-watchllm-timeout-ms': String(opts.timeoutMs) } } : {}),
  });
const messages = [{ role: 'user' as const, content: 'hi' }];
const ask = (model = 'groq/llama-3.1-8b-instant', c = client()) => c.chat.completions.create({ model, messages });
const failure = (p: Promise<unknown>): Promise<APIError> =>
  p.then(
    (): never => expect.fail('the call should fail'),
    (e: unknown) => {
      expect(e).toBeInstanceOf(OpenAI.APIError);
      return e as APIError;
    },
  );

describe('upstream time: a failed or abandoned call counts its wait for the provider as upstream time', () => {
  test('headers timeout: the whole wait is upstream time', async () => {
    behave = () => {}; // never answers
    const err = await failure(ask(undefined, client({ timeoutMs: 300 })));
    expect(err.status).toBe(504);
    const [x] = await s.waitForEvents(1);
    const d = durations(x!);
    expect(x!.outcome).toBe('timeout');
    expect(d.upstreamMs).toBeGreaterThanOrEqual(280);
    // what is left for the gateway itself is small (it was 300 ms of "gateway overhead")
    expect(d.latencyMs - d.upstreamMs!).toBeLessThan(250);
  });

  test('the client leaves before the answer: its wait is upstream time', async () => {
    behave = () => {};
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await client()
      .chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages }, { signal: ac.signal })
      .catch(() => {});
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('client_closed');
    expect(durations(x!).upstreamMs).toBeGreaterThanOrEqual(250);
  });

  test('a JSON body that stops coming: the wait for it is upstream time', async () => {
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"c1","object":"chat.completion","choices":[');
      setTimeout(() => res.destroy(), 2000);
    };
    const err = await failure(ask());
    expect(err.status).toBe(504);
    const [x] = await s.waitForEvents(1);
    const d = durations(x!);
    expect(d.upstreamMs).toBeGreaterThanOrEqual(380);
    expect(d.latencyMs - d.upstreamMs!).toBeLessThan(250);
  });
});

describe('a 200 that is not the JSON answer asked for', () => {
  const html = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html><body>Welcome to nginx!</body></html>');
  };

  test('an HTML page: 502 naming its content type and the base_url, recorded as an upstream error without usage', async () => {
    behave = html;
    const err = await failure(ask());
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ code: 'bad_upstream_response', type: 'api_error' });
    expect(err.message).toMatch(/text\/html/);
    expect(err.message).toMatch(/base_url/);
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('upstream_error');
    expect(x!.error?.type).toBe('bad_upstream_response');
    expect(x!.response.usage).toBeNull();
    expect(x!.costUsd).toBeNull();
  });

  test('an HTML page for a streamed call: a 502 the SDK raises, not an empty stream', async () => {
    behave = html;
    const err = await failure(
      (async () => {
        const stream = await client().chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages, stream: true });
        for await (const _ of stream) void _;
      })(),
    );
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/text\/html/);
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('upstream_error');
    expect(x!.response.usage).toBeNull();
  });

  test('a JSON completion without a content-type is still the answer, with the provider usage', async () => {
    behave = (res) => {
      res.writeHead(200); // no content-type at all
      res.end(JSON.stringify(COMPLETION));
    };
    const r = await client().chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages }).withResponse();
    expect(r.response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.data.choices[0]?.message.content).toBe('Hello there');
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(x!.response.usageSource).toBe('provider');
    expect(x!.response.usage).toMatchObject({ promptTokens: 11, completionTokens: 3 });
  });

  test('a host that ignores stream and answers a JSON chat completion: streamed to the client as OpenAI would have, usage recorded', async () => {
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(COMPLETION));
    };
    const stream = await client().chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: unknown = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello there');
    expect(usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 3 });
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(x!.response.usageSource).toBe('provider');
    expect(x!.response.usage).toMatchObject({ promptTokens: 11, completionTokens: 3 });
    expect(x!.response.body).toBe('Hello there');
  });

  test('a host that ignores stream on another endpoint: a 502 that says so, with the usage it billed recorded', async () => {
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'llama', choices: [{ index: 0, text: 'Hi', finish_reason: 'stop' }], usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 } }));
    };
    const err = await failure(
      (async () => {
        const stream = await client().completions.create({ model: 'groq/llama-3.1-8b-instant', prompt: 'Hi', stream: true });
        for await (const _ of stream) void _;
      })(),
    );
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ code: 'bad_upstream_response' });
    expect(err.message).toMatch(/not a stream/);
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('upstream_error');
    expect(x!.response.usageSource).toBe('provider');
    expect(x!.response.usage).toMatchObject({ promptTokens: 11, completionTokens: 3 });
  });
});

describe('compressed bodies (a host that compresses although asked not to) are decoded', () => {
  test('a gzip JSON answer', async () => {
    behave = (res) => {
      const body = gzipSync(JSON.stringify(COMPLETION));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) });
      res.end(body);
    };
    const r = await client().chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages }).withResponse();
    expect(r.data.choices[0]?.message.content).toBe('Hello there');
    expect(r.response.headers.get('content-encoding')).toBeNull();
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(x!.response.usage).toMatchObject({ promptTokens: 11, completionTokens: 3 });
  });

  test('a body that does not decode: 502 bad_upstream_response, not a gateway failure', async () => {
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(JSON.stringify(COMPLETION)); // labelled gzip, sent plain
    };
    const err = await failure(ask());
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ code: 'bad_upstream_response' });
    expect(err.message).toMatch(/gzip body the gateway could not decode/);
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('upstream_error');
  });

  test('a brotli error body: the provider message reaches the client and the event', async () => {
    behave = (res) => {
      const body = brotliCompressSync(JSON.stringify({ error: { message: 'Rate limit reached for model', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }));
      res.writeHead(429, { 'content-type': 'application/json', 'content-encoding': 'br' });
      res.end(body);
    };
    const err = await failure(ask());
    expect(err.status).toBe(429);
    expect(err.message).toContain('Rate limit reached for model');
    const [x] = await s.waitForEvents(1);
    expect(x!.error).toEqual({ type: 'rate_limit_exceeded', message: 'Rate limit reached for model' });
  });

  test('a deflate SSE stream is decoded and still relayed as it comes', async () => {
    let release = () => {};
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'deflate' });
      const z = createDeflate();
      z.pipe(res);
      const chunk = (content: string, finish: string | null) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
      z.write(chunk('Hel', null));
      z.flush();
      release = () => {
        z.write(chunk('lo', 'stop'));
        z.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } })}\n\n`);
        z.end('data: [DONE]\n\n');
      };
    };
    const stream = await client().chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages, stream: true });
    let text = '';
    for await (const c of stream) {
      // the first event came through before the host sent the rest
      if (text === '') release();
      text += c.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello');
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(x!.response.usageSource).toBe('provider');
    expect(x!.response.usage).toMatchObject({ promptTokens: 5, completionTokens: 2 });
  });
});

describe('provider error bodies in another shape come to the OpenAI SDK in OpenAI shape', () => {
  const cases: Array<[string, number, unknown, RegExp]> = [
    ['FastAPI detail list (vLLM)', 422, { detail: [{ type: 'missing', loc: ['body', 'messages'], msg: 'Field required' }] }, /body\.messages: Field required/],
    ['FastAPI detail text', 404, { detail: 'Not Found' }, /^Not Found$/],
    ['vLLM object:error', 400, { object: 'error', message: "The model `x` does not exist.", type: 'NotFoundError', param: null, code: 404 }, /^The model `x` does not exist\.$/],
    [
      'Mistral message object',
      422,
      { object: 'error', message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted' }] }, type: 'invalid_request_message_error', param: null, code: null },
      /body\.stream_options: Extra inputs are not permitted/,
    ],
    ['Azure gateway', 401, { statusCode: 401, message: 'Access denied due to invalid subscription key.' }, /^Access denied due to invalid subscription key\.$/],
    ['null', 500, null, /^Upstream error \(HTTP 500\)$/],
    ['an array', 400, ['oops'], /Upstream error \(HTTP 400\)/],
  ];
  test.each(cases)('%s', async (_title, status, body, message) => {
    behave = (res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const err = await failure(ask());
    expect(err.status).toBe(status);
    const e = err.error as { message?: unknown; type?: unknown };
    expect(typeof e.message).toBe('string');
    expect(e.message).toMatch(message);
    expect(typeof e.type).toBe('string');
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('upstream_error');
    expect(x!.error?.message).toMatch(message);
    expect(JSON.parse(x!.response.body!)).toMatchObject({ error: { message: e.message } });
  });

  test('an OpenAI-shaped error body still goes back as the provider sent it', async () => {
    const sent = '{"error":{"message":"Invalid model","type":"invalid_request_error","param":"model","code":"model_not_found","extra":1}}';
    behave = (res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(sent);
    };
    const err = await failure(ask());
    expect(err.status).toBe(404);
    expect(err.error).toEqual(JSON.parse(sent).error);
  });
});

describe('Mistral: streams without stream_options (its API refuses the field)', () => {
  const mistralStream = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const head = { id: 'm1', object: 'chat.completion.chunk', created: 1, model: 'mistral-small-latest' };
    res.write(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Bonjour' }, finish_reason: null }] })}\n\n`);
    // Mistral reports usage on its last chunk, beside the finish reason
    res.write(
      `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  };

  test('the built-in mistral provider is sent no stream_options, and its last chunk usage is recorded', async () => {
    behave = mistralStream;
    const stream = await client().chat.completions.create({ model: 'mistral-small-latest', messages, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('Bonjour');
    expect(JSON.parse(received[0]!.body)).not.toHaveProperty('stream_options');
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(x!.response.usageSource).toBe('provider');
    expect(x!.response.usage).toMatchObject({ promptTokens: 9, completionTokens: 2 });
  });

  test('a stream without any usage is estimated, as before', async () => {
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const head = { id: 'm1', object: 'chat.completion.chunk', created: 1, model: 'mistral-small-latest' };
      res.write(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { content: 'Bonjour' }, finish_reason: 'stop' }] })}\n\n`);
      res.end('data: [DONE]\n\n');
    };
    const stream = await client().chat.completions.create({ model: 'mistral/mistral-small-latest', messages, stream: true });
    for await (const _ of stream) void _;
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('success');
    expect(x!.response.usageSource).toBe('estimate');
    expect(x!.response.usage?.completionTokens).toBeGreaterThan(0);
  });

  test('other OpenAI-compatible hosts are still asked for usage', async () => {
    behave = mistralStream;
    const stream = await client().chat.completions.create({ model: 'deepseek/deepseek-chat', messages, stream: true });
    for await (const _ of stream) void _;
    expect(JSON.parse(received[0]!.body)).toMatchObject({ stream_options: { include_usage: true } });
  });
});

describe('a Responses API answer that failed', () => {
  test('HTTP 200 with status failed: the client gets it as sent, the event records the error', async () => {
    const failed = {
      id: 'resp_1',
      object: 'response',
      created_at: 1,
      status: 'failed',
      model: 'llama-3.1-8b-instant',
      output: [],
      error: { code: 'server_error', message: 'The model failed to generate a response.' },
      usage: null,
    };
    behave = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(failed));
    };
    const r = await client().responses.create({ model: 'groq/llama-3.1-8b-instant', input: 'hi' });
    expect(r.status).toBe('failed');
    expect(r.error).toEqual(failed.error);
    const [x] = await s.waitForEvents(1);
    expect(x!.outcome).toBe('upstream_error');
    expect(x!.error).toEqual({ type: 'server_error', message: 'The model failed to generate a response.' });
  });
});
