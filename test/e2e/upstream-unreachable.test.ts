import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../gateway/src/log.ts';
import { freePort } from '../support/ports.ts';
import { startStack, type Stack } from './harness.ts';

/**
 * A provider the gateway cannot reach (connection refused, a name that does not resolve, TLS that
 * fails) is one warn line per call in the gateway's log: provider, host, the transport's error code
 * and the call's request id, so an operator can tell a wrong base_url from a provider outage
 * without /metrics. Never the key, nor the URL's path or query.
 */
const KEY = 'sk-unreachable-secret-key-0123456789';
let s: Stack;
let plain: Server;
let refusedPort: number;
let plainPort: number;
const lines: string[] = [];

beforeAll(async () => {
  refusedPort = await freePort();
  // A plain HTTP server reached over https://: the TLS handshake fails.
  plain = createServer((_req, res) => res.end('not tls'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  plainPort = (plain.address() as { port: number }).port;
  s = await startStack({
    log: createLogger('info', (line) => void lines.push(line)),
    yaml: [
      'providers:',
      `  refused: { kind: openai-compatible, base_url: "http://127.0.0.1:${refusedPort}/v1" }`,
      // .invalid never resolves (RFC 6761)
      '  nodns: { kind: openai-compatible, base_url: "http://watchllm-test.invalid/v1" }',
      `  badtls: { kind: openai-compatible, base_url: "https://127.0.0.1:${plainPort}/v1" }`,
    ].join('\n'),
  });
});
afterAll(async () => {
  await s.close();
  plain.closeAllConnections();
  await new Promise<void>((r) => plain.close(() => r()));
});
beforeEach(() => {
  lines.length = 0;
});

const client = () => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });

describe('a provider that cannot be reached is logged', () => {
  const hostOf = (provider: string): string =>
    provider === 'refused' ? `127.0.0.1:${refusedPort}` : provider === 'badtls' ? `127.0.0.1:${plainPort}` : 'watchllm-test.invalid';

  test.each([
    ['refused', /^ECONNREFUSED$/],
    ['nodns', /^(ENOTFOUND|EAI_AGAIN)$/],
    ['badtls', /^(ERR_SSL_|EPROTO|ECONNRESET)/],
  ] as const)('%s: 502 to the client, one warn line with provider, host, code and request id', async (provider, code) => {
    type APIError = InstanceType<typeof OpenAI.APIError>;
    const ask = (): Promise<APIError> =>
      client()
        .chat.completions.create({ model: `${provider}/some-model`, messages: [{ role: 'user', content: 'hi' }] })
        .then(
          (): never => expect.fail('the call should fail'),
          (e: unknown) => e as APIError,
        );
    await ask();
    const err = await ask();
    expect(err).toMatchObject({ status: 502, error: { code: 'upstream_unreachable' } });
    const requestId = err.headers?.get('x-watchllm-request-id');
    expect(requestId).toBeTruthy();

    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'provider unreachable');
    expect(logged).toHaveLength(2); // one per call
    const line = logged.find((l) => l['requestId'] === requestId);
    expect(line).toMatchObject({ level: 'warn', provider, host: hostOf(provider) });
    expect(line?.['code']).toMatch(code);
    // the key and the URL past the host stay out of the log
    const all = lines.join('');
    expect(all).not.toContain(KEY);
    expect(all).not.toContain('/chat/completions');
  });
});
