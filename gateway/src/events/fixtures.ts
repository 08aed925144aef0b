import { createExchange, type Exchange } from '../exchange.ts';

/**
 * Finished exchanges for tests (this folder's and the lead's end-to-end ones). `n` makes ids,
 * times and token counts distinct and predictable: prompt = 10 + n, completion = 2 * n.
 */
export function exchangeFixture(n: number, at = Date.UTC(2026, 0, 15, 12, 0, 0)): Exchange {
  const x = createExchange({
    id: `req_${String(n).padStart(6, '0')}`,
    surface: 'openai',
    endpoint: 'chat',
    method: 'POST',
    path: '/v1/chat/completions',
    ip: '127.0.0.1',
    userAgent: 'fixture/1.0',
    now: at + n * 1000,
    t0: 1000,
  });
  x.request.bytes = 64;
  x.request.raw = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${n}` }] });
  x.request.model = 'gpt-4o-mini';
  x.route = { provider: 'openai', model: 'gpt-4o-mini' };
  x.auth = { mode: 'gateway_key', providerKeyFingerprint: 'fp_abcd', providerKeyHash: null, keyId: 'key_1', keyName: 'ci', project: 'proj_a' };
  x.meta = {
    user: `user_${n % 3}`,
    session: 'sess_1',
    // what OpenTelemetry's traceparent gives: a 32-hex trace shared by a few calls, a 16-hex span each
    traceId: (Math.floor(n / 4) + 1).toString(16).padStart(32, '0'),
    spanId: (n + 1).toString(16).padStart(16, '0'),
    properties: { env: n % 2 === 0 ? 'prod' : 'dev' },
  };
  x.upstream = { status: 200, sentAt: 1001, headersAt: 1050, endedAt: 1100 };
  x.response.status = 200;
  x.response.firstByteAt = 1051;
  x.response.endedAt = 1101;
  x.response.bytes = 128;
  x.response.body = JSON.stringify({ choices: [{ message: { content: `answer ${n}` } }] });
  x.response.finishReason = 'stop';
  x.response.usage = {
    promptTokens: 10 + n,
    completionTokens: 2 * n,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  x.response.usageSource = 'provider';
  x.costUsd = (10 + n) * 1e-6 + 2 * n * 4e-6;
  x.outcome = 'success';
  return x;
}
