/**
 * Redis dies under a running gateway: each configured fail mode answers at once, the way it says,
 * and service resumes when Redis comes back. Requests must settle (vitest's timeout is the bound;
 * no timing assertions).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startRedis, startRedisCluster, type TestRedis } from '../redis/index.ts';
import { freePort } from '../support/ports.ts';
import { startStack, type Stack } from './harness.ts';
import { openaiError, post, until, type Reply } from './processes.ts';

const yaml = (mode: 'open' | 'closed') => `
limits:
  fail_mode: ${mode}
  key:
    rpm: 1000
`;

let redis: TestRedis;
let open: Stack;
let closed: Stack;

beforeAll(async () => {
  redis = await startRedis();
  [open, closed] = await Promise.all([
    startStack({ yaml: yaml('open'), env: { WATCHLLM_REDIS_URL: redis.url } }),
    startStack({ yaml: yaml('closed'), env: { WATCHLLM_REDIS_URL: redis.url } }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.close(), closed?.close()]);
  await redis?.stop();
});
beforeEach(() => {
  for (const s of [open, closed]) {
    s.fake.reset();
    s.events.length = 0;
  }
});

const call = (s: Stack, stream = false, headers: Record<string, string> = {}): Promise<Reply> =>
  post(
    `${s.url}/v1/chat/completions`,
    { model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'hi' }] },
    { authorization: 'Bearer sk-failmode', ...headers },
  );

/** `watchllm_store_misses_total{store="<store>"}` from /metrics (0 when absent). */
async function misses(s: Stack, store: 'limits' | 'cache'): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = new RegExp(`^watchllm_store_misses_total\\{store="${store}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('a Redis outage under a running gateway follows the configured fail mode', () => {
  test('with Redis up, both gateways count calls in Redis', async () => {
    const replies = await Promise.all([call(open), call(closed)]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    for (const r of replies) expect(Number(r.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(1000);
  });

  describe('after redis-server is killed', () => {
    beforeAll(() => redis.stop());

    test.each([false, true])('fail_mode open: the call (stream: %s) is served uncounted and the miss shows on /metrics', async (stream) => {
      const before = await misses(open, 'limits');
      const r = await call(open, stream);
      expect(r.status).toBe(200);
      if (stream) expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      // Nothing was counted, so there is no limit state to report.
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBeNull();
      expect(await misses(open, 'limits')).toBeGreaterThan(before);
      const [x] = await open.waitForEvents(1);
      expect(x).toMatchObject({ outcome: 'success', limits: { decision: 'degraded' } });
    });

    test('fail_mode open: a cache lookup that cannot reach Redis is a miss, not a failure', async () => {
      const before = await misses(open, 'cache');
      const r = await call(open, false, { 'x-watchllm-cache': 'on' });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-watchllm-cache')).toBe('miss');
      expect(await misses(open, 'cache')).toBeGreaterThan(before);
    });

    test.each([false, true])('fail_mode closed: the call (stream: %s) is refused with 503 and an OpenAI-style error, the provider is not called', async (stream) => {
      const r = await call(closed, stream);
      expect(r.status).toBe(503);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(r.headers.get('retry-after')).toBe('1');
      const err = openaiError(r);
      expect(err).toMatchObject({ type: 'api_error', code: 'limits_unavailable' });
      expect(err.message).toContain('rate-limit store is unavailable');
      expect(closed.fake.calls).toHaveLength(0);
      const [x] = await closed.waitForEvents(1);
      expect(x).toMatchObject({ outcome: 'denied_limit', response: { status: 503 } });
    });

    test('a gateway key cannot be checked while its store is down: 503, never a pass, never a 500', async () => {
      // The key store always fails closed, whatever the limits' fail mode: an unknown key must not get through.
      for (const s of [open, closed]) {
        const r = await call(s, false, { authorization: 'Bearer wl_some_key_while_redis_is_down_0123' });
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBe('1');
        expect(openaiError(r)).toMatchObject({ type: 'api_error', code: 'keys_unavailable' });
        expect(s.fake.calls).toHaveLength(0);
      }
    });

    test('twenty concurrent calls per gateway all settle with the fail mode answer', async () => {
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => call(i % 2 === 0 ? open : closed, i % 4 < 2)));
      expect(replies.filter((_, i) => i % 2 === 0).every((r) => r.status === 200)).toBe(true);
      expect(replies.filter((_, i) => i % 2 === 1).every((r) => r.status === 503)).toBe(true);
    });
  });

  describe('after redis-server comes back', () => {
    beforeAll(() => redis.restart());

    test('fail_mode closed serves again, and both gateways count again', async () => {
      // ioredis reconnects with a back-off of at most one second.
      const r = await until(() => call(closed), (x) => x.status === 200);
      expect(Number(r.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(1000);
      const o = await until(() => call(open), (x) => x.headers.get('x-ratelimit-remaining-requests') !== null);
      expect(o.status).toBe(200);
    });
  });
});

describe('a Redis Cluster that goes away follows the fail mode too', () => {
  test('open admits uncounted and closed answers 503, at once, while every node is down', async () => {
    const cluster = await startRedisCluster();
    const env = { WATCHLLM_REDIS_URL: cluster.url, WATCHLLM_REDIS_CLUSTER: 'true' };
    const [o, c] = await Promise.all([startStack({ yaml: yaml('open'), env }), startStack({ yaml: yaml('closed'), env })]);
    try {
      const up = await Promise.all([call(o), call(c)]);
      expect(up.map((r) => r.status)).toEqual([200, 200]);
      for (const r of up) expect(r.headers.get('x-ratelimit-limit-requests')).toBe('1000');

      await cluster.stop();
      const down = await Promise.all([call(o), call(c)]);
      expect(down[0]!.status).toBe(200);
      expect(down[1]!.status).toBe(503);
      expect(openaiError(down[1]!)).toMatchObject({ code: 'limits_unavailable' });
      expect(await misses(o, 'limits')).toBeGreaterThan(0);
    } finally {
      await Promise.all([o.close(), c.close()]);
      await cluster.stop();
    }
  });
});

describe('a gateway started while Redis is down', () => {
  test('fail_mode closed: it starts, /readyz says 503 with the reason, and calls get 503 limits_unavailable', async () => {
    const port = await freePort();
    const s = await startStack({ yaml: yaml('closed'), env: { WATCHLLM_REDIS_URL: `redis://127.0.0.1:${port}` } });
    try {
      const ready = await fetch(`${s.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toMatch(/redis|limits/i);
      const r = await call(s);
      expect(r.status).toBe(503);
      expect(openaiError(r).code).toBe('limits_unavailable');
      expect(s.fake.calls).toHaveLength(0);
    } finally {
      await s.close();
    }
  });
});

describe('a call admitted uncounted during an outage (fail_mode open) that ends once Redis is back', () => {
  // Output costs $1000 per 1M tokens (input free): a call costs completion tokens / 1000 dollars.
  const settleYaml = `
limits:
  fail_mode: open
  key: { tpd: 100000 }
budgets:
  user: { usd: 0.35, period: day }
prices:
  openai/gpt-4o-mini: { input: 0, output: 1000 }
`;
  const headers = { authorization: 'Bearer sk-failmode-settle', 'x-watchllm-user': 'alice' };
  const chat = (s: Stack, maxTokens: number, stream = false): Promise<Reply> =>
    post(`${s.url}/v1/chat/completions`, { model: 'gpt-4o-mini', stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] }, headers);

  test('is charged its real tokens and cost (it reserved nothing), and takes nothing back from other calls', async () => {
    const r = await startRedis();
    const s = await startStack({ yaml: settleYaml, env: { WATCHLLM_REDIS_URL: r.url } });
    try {
      await r.stop();
      // A long stream, admitted uncounted; its worst case would be 300 tokens / $0.30, it really uses 210 / $0.20.
      // 20 chunks 300 ms apart: the stream outlasts the reconnection (ioredis' back-off is at most 1 s).
      s.fake.next({ usage: { promptTokens: 10, completionTokens: 200 }, chunks: 20, chunkDelayMs: 300 });
      const degraded = chat(s, 300, true);
      await r.restart();
      // Probes that use nothing real (they settle back to 0) until the gateway counts again.
      s.fake.setDefault({ usage: { promptTokens: 0, completionTokens: 0 } });
      await until(() => chat(s, 1), (x) => x.headers.get('x-ratelimit-remaining-tokens') !== null, { timeoutMs: 5000 });
      const streamed = await degraded;
      expect(streamed.status).toBe(200);
      await until(async () => s.events.find((e) => e.request.stream), (e) => e !== undefined);
      expect(s.events.find((e) => e.request.stream)).toMatchObject({ outcome: 'success', limits: { decision: 'degraded' } });

      // The stream's 210 tokens are charged to the day once it settles (before the fix its unmade
      // reservation was taken back instead: -90 tokens, clamped at 0, so nothing was charged).
      const probe = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
      const probeEstimate = Math.ceil(Buffer.byteLength(probe) / 4) + 1;
      const counted = await until(
        () => post(`${s.url}/v1/chat/completions`, probe, headers),
        (x) => x.headers.get('x-ratelimit-remaining-tokens') === String(100000 - 210 - probeEstimate),
      );
      expect(counted.status).toBe(200);
      // And its $0.20: $0.15 is left of $0.35, so a call that may cost $0.20 does not fit.
      const refused = await chat(s, 200);
      expect(refused.status).toBe(402);
      expect(openaiError(refused)).toMatchObject({ code: 'budget_exceeded' });
      expect(openaiError(refused).message).toContain('$0.1500 left');
    } finally {
      await s.close();
      await r.stop();
    }
  });

  test('ending while Redis is still down, it is charged once Redis is back (its settlement is held, then sent)', async () => {
    const r = await startRedis();
    const s = await startStack({ yaml: settleYaml, env: { WATCHLLM_REDIS_URL: r.url } });
    try {
      await r.stop();
      s.fake.next({ usage: { promptTokens: 10, completionTokens: 200 } });
      const degraded = await chat(s, 300);
      expect(degraded.status).toBe(200);
      // admitted uncounted: no limit state to report
      expect(degraded.headers.get('x-ratelimit-remaining-tokens')).toBeNull();
      await r.restart();
      s.fake.setDefault({ usage: { promptTokens: 0, completionTokens: 0 } });
      const probe = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
      const probeEstimate = Math.ceil(Buffer.byteLength(probe) / 4) + 1;
      // Before the fix the settlement was dropped with Redis down: the day stayed at 100000 - probe.
      const counted = await until(
        () => post(`${s.url}/v1/chat/completions`, probe, headers),
        (x) => x.headers.get('x-ratelimit-remaining-tokens') === String(100000 - 210 - probeEstimate),
        { timeoutMs: 10_000 },
      );
      expect(counted.status).toBe(200);
      const refused = await chat(s, 200);
      expect(refused.status).toBe(402);
      expect(openaiError(refused).message).toContain('$0.1500 left');
    } finally {
      await s.close();
      await r.stop();
    }
  });
});
