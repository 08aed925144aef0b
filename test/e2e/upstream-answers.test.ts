import { createServer, type Server, type ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * A provider host that misbehaves after its headers: a redirect, an empty 204, a body cut off, a
 * body that stops coming. Each is an error the client can act on (502 / 504 in its own shape),
 * recorded as such, never a 200 with whatever came and never a 500 from the gateway.
 */
type Behaviour = (res: ServerResponse) => void;
let behave: Behaviour = (res) => res.end();
let upstream: Server;
let s: Stack;

const HALF = '{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hel';

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => behave(res));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  s = await startStack({
    yaml: 'server:\n  stream_idle_timeout_ms: 300\n',
    env: { WATCHLLM_GROQ_BASE_URL: `http://127.0.0.1:${port}/v1` },
  });
});
afterAll(async () => {
  await s.close();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});
beforeEach(() => {
  s.events.length = 0;
});

const client = () => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'gsk-test', maxRetries: 0 });
const ask = () => client().chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages: [{ role: 'user', content: 'hi' }] });

describe('a provider answer that is not one', () => {
  test.each([
    [
      'a redirect with an HTML page',
      (res: ServerResponse) => {
        res.writeHead(302, { location: 'https://login.example.com/sso?token=secret', 'content-type': 'text/html' });
        res.end('<a href="https://login.example.com/sso">moved</a>');
      },
      502,
      'bad_upstream_response',
      /redirect \(HTTP 302 to https:\/\/login\.example\.com\)/,
    ],
    ['an empty 204', (res: ServerResponse) => res.writeHead(204).end(), 502, 'bad_upstream_response', /HTTP 204 without a body/],
    [
      'a JSON body cut off mid-way',
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(HALF.length + 40) });
        res.write(HALF, () => setTimeout(() => res.destroy(), 20));
      },
      502,
      'bad_upstream_response',
      /closed the connection before its answer was complete/,
    ],
    [
      'a JSON body that stops coming',
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(HALF);
        setTimeout(() => res.destroy(), 2000);
      },
      504,
      'upstream_timeout',
      /stopped sending its answer/,
    ],
  ] as const)('%s: an error for the SDK in its own shape, recorded as that', async (_title, behaviour, status, code, message) => {
    behave = behaviour;
    const err = await ask().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(status);
    expect(e.error).toMatchObject({ code, type: 'api_error' });
    expect(String((e.error as { message?: unknown }).message)).toMatch(message);
    expect(JSON.stringify(e.error)).not.toContain('token=secret');
    const [x] = await s.waitForEvents(1);
    expect(x!.response.status).toBe(status);
    expect(x!.outcome).toBe(status === 504 ? 'timeout' : 'upstream_error');
  });
});
