import { describe, expect, test } from 'vitest';
import { createExchange } from './exchange.ts';
import { Metrics } from './metrics.ts';

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
});
