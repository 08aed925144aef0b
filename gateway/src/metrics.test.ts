import { describe, expect, test } from 'vitest';
import { createExchange } from './exchange.ts';
import { MAX_MODEL_LABELS, Metrics } from './metrics.ts';

function exchange() {
  return createExchange({ id: 'r1', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/v1/chat/completions', ip: null, userAgent: null, now: 0, t0: 0 });
}

describe('Metrics.observe', () => {
  test('a refused call counts against its limit scope and kind, whatever its id (BYOK ids hold a colon)', async () => {
    const m = new Metrics();
    const x = exchange();
    x.outcome = 'denied_limit';
    x.response.status = 429;
    x.limits = { decision: 'denied', refused: { scope: 'key', id: 'byok:0123456789ab', kind: 'requests', window: 'minute' } };
    m.observe(x);
    expect(await m.registry.metrics()).toContain('watchllm_limit_denied_total{scope="key",kind="requests"} 1');
  });

  test('calls admitted over a budget soft threshold are counted per scope', async () => {
    const m = new Metrics();
    const x = exchange();
    x.limits = { decision: 'allowed', softThreshold: [{ scope: 'project', id: 'acme', kind: 'usd', window: 'month', ratio: 0.85 }] };
    m.observe(x);
    expect(await m.registry.metrics()).toContain('watchllm_budget_soft_threshold_total{scope="project"} 1');
  });

  test.each([
    ['a stream cut after its 200', 200, 'upstream_stream_cut', 'stream_cut'],
    ["the provider's error event in a stream", 200, 'server_error', 'stream_error'],
    ['a redirect', 302, 'bad_upstream_response', 'bad_response'],
    ['a provider 503', 503, 'overloaded_error', '503'],
  ] as const)('%s counts as upstream error kind %s', async (_title, status, type, kind) => {
    const m = new Metrics();
    const x = exchange();
    x.route = { provider: 'openai', model: 'gpt-4o-mini' };
    x.outcome = 'upstream_error';
    x.upstream.status = status;
    x.error = { type, message: 'x' };
    m.observe(x);
    expect(await m.registry.metrics()).toContain(`watchllm_upstream_errors_total{provider="openai",kind="${kind}"} 1`);
  });

  test('time to first token: a stream counts at its first token; one that failed before any (a 504 sent whole) does not count', async () => {
    const m = new Metrics();
    const stream = (status: number, firstByteAt: number, firstTokenAt: number | null) => {
      const x = exchange();
      x.route = { provider: 'openai', model: 'gpt-4o-mini' };
      x.request.stream = true;
      x.response.status = status;
      x.response.firstByteAt = firstByteAt;
      x.response.firstTokenAt = firstTokenAt;
      if (status !== 200) x.outcome = 'timeout';
      m.observe(x);
    };
    stream(200, 60, 1500);
    stream(504, 50, null);
    const text = await m.registry.metrics();
    expect(text).toContain('watchllm_time_to_first_token_seconds_count{provider="openai"} 1');
    expect(text).toContain('watchllm_time_to_first_token_seconds_sum{provider="openai"} 1.5');
  });

  test('model labels are bounded: names are lowercased, and past the first distinct ones they share "other"', async () => {
    const m = new Metrics();
    const call = (model: string) => {
      const x = exchange();
      x.route = { provider: 'compat', model };
      x.outcome = 'success';
      x.response.usage = { promptTokens: 1, completionTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
      m.observe(x);
    };
    call('GPT-4O-MINI');
    call('gpt-4o-mini');
    for (let i = 0; i < MAX_MODEL_LABELS + 50; i++) call(`rand-${i}`);
    const text = await m.registry.metrics();
    expect(text).toContain('watchllm_tokens_total{provider="compat",model="gpt-4o-mini",type="prompt"} 2');
    expect(text).not.toContain('GPT-4O-MINI');
    const series = new Set([...text.matchAll(/watchllm_tokens_total\{provider="compat",model="([^"]+)",type="prompt"\}/g)].map((r) => r[1]));
    expect(series.size).toBe(MAX_MODEL_LABELS + 1);
    expect(series.has('other')).toBe(true);
  });
});
