import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { createExchange, type Exchange } from '../exchange.ts';
import { createMemoryLimitStore, type LimitStore, type SettleRequest } from '../stores/index.ts';
import { compileModelLimits, limitItems, reserve, settleReservation } from './limits.ts';
import { SettleBatcher } from './settle-batch.ts';
import type { Endpoint } from '@watchllm/providers';

// Output tokens cost $1000 per 1M (input free): a call reserves max_tokens / 1000 dollars.
const config = parseConfig(
  `
limits:
  key: { rpm: 10, tpm: 200000 }
budgets:
  project: { usd: 1, period: day }
`,
  {},
);
const PRICE = { input: 0, output: 1000 };
const models = compileModelLimits(config);

function exchange(endpoint: Endpoint, body: Record<string, unknown> | null): Exchange {
  const x = createExchange({ id: 'x', surface: 'openai', endpoint, method: 'POST', path: '/', ip: null, userAgent: null, now: 0, t0: 0 });
  x.request.body = body;
  x.request.bytes = body === null ? 0 : Buffer.byteLength(JSON.stringify(body));
  x.auth = { mode: 'gateway_key', providerKeyFingerprint: null, providerKeyHash: null, keyId: 'k1', keyName: 'k', project: 'acme' };
  x.route = { provider: 'openai', model: 'gpt-4o-mini' };
  return x;
}

const chat = (maxTokens?: number, content = 'hi') => ({ model: 'gpt-4o-mini', ...(maxTokens ? { max_tokens: maxTokens } : {}), messages: [{ role: 'user', content }] });
const kinds = (x: Exchange) => limitItems(x, null, config, models, PRICE).items.map((i) => `${i.kind}:${i.cost}`);

describe('limitItems', () => {
  test('a chat call reserves a request, its token estimate and its worst-case cost', () => {
    const x = exchange('chat', chat(300));
    const plan = limitItems(x, null, config, models, PRICE);
    expect(plan.tokens).toBe(Math.ceil(x.request.bytes / 4) + 300);
    expect(plan.usd).toBeCloseTo(0.3);
    expect(kinds(x)).toEqual(['requests:1', `tokens:${plan.tokens}`, `usd:${plan.usd}`]);
  });

  test('n answers may each use the whole output allowance: the reservation counts them all', () => {
    const x = exchange('chat', { ...chat(300), n: 3 });
    const plan = limitItems(x, null, config, models, PRICE);
    expect(plan.tokens).toBe(Math.ceil(x.request.bytes / 4) + 900);
    expect(plan.usd).toBeCloseTo(0.9);
  });

  test.each(['count_tokens', 'models'] as const)('%s generates nothing: it counts as a request, and reserves no tokens and no USD', (endpoint) => {
    const x = exchange(endpoint, endpoint === 'models' ? null : chat(undefined, 'lorem '.repeat(2000)));
    const plan = limitItems(x, null, config, models, PRICE);
    expect(plan).toMatchObject({ tokens: 0, usd: 0, promptUsd: 0 });
    expect(kinds(x)).toEqual(['requests:1']);
  });

  test.each([
    ['GET', '/v1/responses/resp_1'],
    ['DELETE', '/v1/responses/resp_1'],
    ['POST', '/v1/responses/resp_1/cancel'],
    ['GET', '/v1/responses/resp_1/input_items?limit=5'],
  ])("a stored response's %s %s generates nothing: it counts as a request only", (method, path) => {
    const x = createExchange({ id: 'x', surface: 'openai', endpoint: 'responses', method, path, ip: null, userAgent: null, now: 0, t0: 0 });
    x.auth = { mode: 'gateway_key', providerKeyFingerprint: null, providerKeyHash: null, keyId: 'k1', keyName: 'k', project: 'acme' };
    x.route = { provider: 'openai', model: '' };
    expect(limitItems(x, null, config, models, PRICE)).toMatchObject({ items: [{ kind: 'requests', cost: 1 }], tokens: 0, usd: 0 });
  });

  test('an ~800 KB base64 image counts a fixed allowance, not its text: it fits tpm 200000', () => {
    const url = `data:image/jpeg;base64,${Buffer.alloc(800 * 1024, 7).toString('base64')}`;
    const x = exchange('chat', { model: 'gpt-4o', max_tokens: 300, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url } }] }] });
    const plan = limitItems(x, null, config, models, PRICE);
    expect(plan.tokens).toBeLessThan(3000);
  });
});

/** A store whose check fails as the fail-mode wrapper answers with Redis down (fail_mode open). */
function degradedStore(): { store: LimitStore; settled: SettleRequest[] } {
  const settled: SettleRequest[] = [];
  const store: LimitStore = {
    check: async (req) => ({ allowed: true, now: req.now, items: [], degraded: true }),
    settle: async (req) => void settled.push(req),
    close: async () => {},
  };
  return { store, settled };
}

describe('a call admitted uncounted (limits store down, fail_mode open)', () => {
  test('reserved nothing, so it settles its whole real usage and gives nothing back', async () => {
    const { store, settled } = degradedStore();
    const settles = new SettleBatcher(store, () => {});
    const x = exchange('chat', chat(300));
    const r = await reserve(x, store, limitItems(x, null, config, models, PRICE), 0.8, settles);
    expect(x.limits).toEqual({ decision: 'degraded' });
    expect(r).toMatchObject({ tokens: 0, usd: 0 });
    x.response.usage = { promptTokens: 5, completionTokens: 50, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    x.costUsd = 0.05;
    settleReservation(settles, r!, x);
    await settles.flush();
    expect(settled.flatMap((s) => s.items).map((i) => [i.kind, i.delta])).toEqual([
      ['tokens', 55],
      ['usd', 0.05],
    ]);
  });

  test('one that failed (no usage) settles nothing', async () => {
    const { store, settled } = degradedStore();
    const settles = new SettleBatcher(store, () => {});
    const x = exchange('chat', chat(300));
    const r = await reserve(x, store, limitItems(x, null, config, models, PRICE), 0.8, settles);
    settleReservation(settles, r!, x);
    await settles.flush();
    expect(settled).toEqual([]);
  });
});

describe('a background response answered queued', () => {
  test('keeps what it reserved: its usage comes later, on a retrieval, and it is not free meanwhile', async () => {
    const store = createMemoryLimitStore();
    const settled: SettleRequest[] = [];
    const settles = new SettleBatcher({ ...store, settle: async (req) => void settled.push(req) }, () => {});
    const x = exchange('responses', { model: 'gpt-4o-mini', input: 'hi', background: true, max_output_tokens: 300 });
    const r = await reserve(x, store, limitItems(x, null, config, models, PRICE), 0.8, settles);
    x.response.finishReason = 'queued';
    settleReservation(settles, r!, x);
    await settles.flush();
    expect(settled).toEqual([]);
    // answered whole (not background): settled to its real usage as usual
    x.response.finishReason = 'completed';
    x.response.usage = { promptTokens: 5, completionTokens: 50, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    x.costUsd = 0.05;
    settleReservation(settles, r!, x);
    await settles.flush();
    expect(settled.flatMap((s) => s.items).map((i) => i.kind)).toEqual(['tokens', 'usd']);
  });
});

describe('the 402 of a budget', () => {
  async function refused(store: LimitStore, x: Exchange): Promise<GatewayError> {
    const settles = new SettleBatcher(store, () => {});
    const e = await reserve(x, store, limitItems(x, null, config, models, PRICE), 0.8, settles).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(GatewayError);
    return e as GatewayError;
  }

  test('with room left that this call does not fit in, says what is left and what the call may cost (status and code unchanged)', async () => {
    const store = createMemoryLimitStore();
    const settles = new SettleBatcher(store, () => {});
    const first = exchange('chat', chat(700));
    await reserve(first, store, limitItems(first, null, config, models, PRICE), 0.8, settles);
    const err = await refused(store, exchange('chat', chat(500)));
    expect(err).toMatchObject({ status: 402, type: 'insufficient_quota', code: 'budget_exceeded' });
    expect(err.message).not.toContain('exhausted');
    expect(err.message).toContain("does not fit in what is left of the budget of project 'acme' ($1.00 per day)");
    expect(err.message).toContain('$0.3000 left, this call may cost up to $0.5000');
    expect(err.message).toMatch(/Lower max_tokens, or wait until \d{4}-\d\d-\d\dT00:00:00\.000Z, when the budget resets\.$/);
    expect(err.headers['retry-after']).toMatch(/^\d+$/);
  });

  test('spent says exhausted and when it resets', async () => {
    const store = createMemoryLimitStore();
    const settles = new SettleBatcher(store, () => {});
    for (let i = 0; i < 5; i++) {
      const x = exchange('chat', chat(200));
      await reserve(x, store, limitItems(x, null, config, models, PRICE), 0.8, settles);
    }
    const err = await refused(store, exchange('chat', chat(1)));
    expect(err).toMatchObject({ status: 402, code: 'budget_exceeded' });
    expect(err.message).toMatch(/^Budget exhausted for project 'acme': \$1\.00 per day, \$1\.0000 used\. It resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/);
  });
});

describe('the soft budget threshold', () => {
  test('records what was spent when the call came, not counting its own worst case', async () => {
    const store = createMemoryLimitStore();
    const settles = new SettleBatcher(store, () => {});
    // $0.85 of the project's $1 spent by earlier calls
    await store.check({ now: Date.now(), items: [{ scope: 'project', id: 'acme', kind: 'usd', window: 'day', limit: 1, cost: 0.85 }] });
    const x = exchange('chat', chat(100));
    await reserve(x, store, limitItems(x, null, config, models, PRICE), 0.8, settles);
    const soft = x.limits?.softThreshold ?? [];
    expect(soft).toHaveLength(1);
    expect(soft[0]!.ratio).toBeCloseTo(0.85);
  });
});
