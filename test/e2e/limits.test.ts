/**
 * Limits and budgets across replicas: two gateway PROCESSES share one real redis-server (then a
 * real Redis Cluster) and together admit exactly what the config allows, whichever replica each
 * call lands on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { FakeProvider } from '../fake-provider/index.ts';
import { openaiError, post, startReplicas, until, type GatewayProcess, type Reply, type Replicas } from './processes.ts';

const ADMIN = 'admin-token-limits-0123456789';
// Per BYOK key: 10 requests a minute; per x-watchllm-user: 5000 tokens a minute. Output tokens cost
// $1000 per 1M (input free), so a budget reservation is exactly max_tokens / 1000 dollars.
const YAML = `
limits:
  key:
    rpm: 10
  user:
    tpm: 5000
prices:
  openai/gpt-4o-mini:
    input: 0
    output: 1000
`;

let fake: FakeProvider;
let a: GatewayProcess;
let b: GatewayProcess;
let replicas: Replicas;


/** Call i goes to A when i is even, B when odd. */
const replica = (i: number): GatewayProcess => (i % 2 === 0 ? a : b);
const chat = (g: GatewayProcess, body: unknown, headers: Record<string, string>): Promise<Reply> =>
  post(`${g.url}/v1/chat/completions`, body, headers);
const statuses = (rs: Reply[]): Record<number, number> =>
  rs.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});
/** For a failed count: each replica's store misses (a miss means a call was admitted uncounted). */
async function storeMisses(): Promise<string> {
  const lines = await Promise.all(
    [a, b].map(async (g) => (await (await fetch(`${g.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('watchllm_store_misses_total'))),
  );
  return `store misses: A ${JSON.stringify(lines[0])}, B ${JSON.stringify(lines[1])}`;
}
/** Go-style duration, as OpenAI's x-ratelimit-reset-* headers ("59.8s", "1m0s", "20ms"). */
const DURATION = /^(\d+m)?\d+(\.\d+)?(ms|s)$/;

// The same guarantees on one redis-server and on a three-node Redis Cluster (WATCHLLM_REDIS_CLUSTER).
describe.each([
  ['one redis-server', false],
  ['a Redis Cluster', true],
] as const)('on %s', (_name, cluster) => {
  beforeAll(async () => {
    replicas = await startReplicas({ yaml: YAML, heldKey: 'sk-held-by-the-gateway', adminToken: ADMIN, cluster });
    ({ fake, a, b } = replicas);
  });
  afterAll(() => replicas?.stop());
  beforeEach(() => fake.reset());

  describe('requests per minute, shared by two gateway processes', () => {
    test('30 concurrent calls with one key over both replicas: exactly 10 admitted, 20 refused with 429', async () => {
      const key = { authorization: 'Bearer sk-byok-rpm-test' };
      const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
      const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(replica(i), body, key)));

      expect(statuses(replies), await storeMisses()).toEqual({ 200: 10, 429: 20 });
      expect(fake.calls).toHaveLength(10);
      // Both replicas answered (the split is arbitrary, but the calls alternated between them).
      const ok = replies.filter((r) => r.status === 200);
      // Each admitted call saw the shared counter after its own reservation: 9, 8, ... 0, once each.
      const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining-requests'))).sort((x, y) => x - y);
      expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (const r of ok) {
        expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
        expect(r.headers.get('x-ratelimit-reset-requests')).toMatch(DURATION);
      }

      for (const r of replies.filter((x) => x.status === 429)) {
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
        expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
        expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
        expect(r.headers.get('x-ratelimit-reset-requests')).toMatch(DURATION);
        const err = openaiError(r);
        expect(err).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
        expect(err.message).toMatch(/^Rate limit reached for key 'byok:[0-9a-f]{12}' on requests per minute: limit 10, used 10/);
      }
    });
  });

  describe('tokens per minute with streamed calls: reserved before, settled after', () => {
    test('concurrent streams admit what the estimate allows; the real usage is settled on both replicas', async () => {
      // The streams take a while, so all eight are checked before any ends and settles its real
      // 25 tokens (which would rightly make room for more).
      fake.setDefault({ usage: { promptTokens: 5, completionTokens: 20 }, chunks: 5, chunkDelayMs: 100 });
      const headers = { authorization: 'Bearer sk-byok-tpm-test', 'x-watchllm-user': 'tpm-user' };
      // Estimate = ceil(body bytes / 4) + max_tokens (about 1025): 4 fit in 5000, a 5th does not.
      const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: 'count' }] });
      const estimate = Math.ceil(Buffer.byteLength(body) / 4) + 1000;
      expect(Math.floor(5000 / estimate)).toBe(4);

      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(replica(i), body, headers)));
      expect(statuses(replies), await storeMisses()).toEqual({ 200: 4, 429: 4 });
      for (const r of replies.filter((x) => x.status === 200)) {
        expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
        expect(r.headers.get('x-ratelimit-limit-tokens')).toBe('5000');
      }
      for (const r of replies.filter((x) => x.status === 429)) {
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(r.headers.get('x-ratelimit-limit-tokens')).toBe('5000');
        expect(r.headers.get('x-ratelimit-reset-tokens')).toMatch(DURATION);
        const err = openaiError(r);
        expect(err).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
        // A BYOK call's users belong to its provider key (no project): byok:<fingerprint>/<user>.
        expect(err.message).toMatch(/^Rate limit reached for user 'byok:[0-9a-f]{12}\/tpm-user' on tokens per minute: limit 5000/);
      }

      // A call reserving ~4030 fits only once all four streams have given back their unused
      // reservation (4 x 25 real tokens counted); until then it is refused and reserves nothing.
      const probeBody = JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 4000, messages: [{ role: 'user', content: 'more' }] });
      const probeEstimate = Math.ceil(Buffer.byteLength(probeBody) / 4) + 4000;
      const probe = await until(() => chat(b, probeBody, headers), (r) => r.status === 200);
      expect(probe.headers.get('x-ratelimit-remaining-tokens')).toBe(String(5000 - 4 * 25 - probeEstimate));
      expect(fake.calls).toHaveLength(5);
    });
  });

  describe('a USD budget on a gateway key created on one replica and used on both', () => {
    test('streamed calls reserve their maximum cost, settle the real one, and a spent budget answers 402', async () => {
      const created = await post(
        `${a.url}/admin/keys`,
        { project: 'budget-co', name: 'streams', limits: { rpm: 100 }, budget: { usd: 1, period: 'day' } },
        { authorization: `Bearer ${ADMIN}` },
      );
      expect(created.status).toBe(201);
      const { id, key } = JSON.parse(created.text) as { id: string; key: string };
      const auth = { authorization: `Bearer ${key}` };
      const streamed = (maxTokens: number) => ({ model: 'gpt-4o-mini', stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] });
      // Real cost $0.05 a call. The streams take a while, so all eight are checked before any of
      // them ends and settles (a settled call frees budget: a sixth would then fit, rightly).
      fake.setDefault({ usage: { promptTokens: 5, completionTokens: 50 }, chunks: 5, chunkDelayMs: 100 });

      // Each call reserves $0.20: five fit in $1, whichever replica they reach.
      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(replica(i), streamed(200), auth)));
      expect(statuses(replies), await storeMisses()).toEqual({ 200: 5, 402: 3 });
      fake.setDefault({ usage: { promptTokens: 5, completionTokens: 50 } });
      for (const r of replies.filter((x) => x.status === 402)) {
        const err = openaiError(r);
        expect(err).toMatchObject({ type: 'insufficient_quota', code: 'budget_exceeded' });
        expect(err.message).toContain(`Budget exhausted for key '${id}': $1.00 per day`);
        expect(err.message).toMatch(/It resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/);
      }
      expect(fake.calls.every((c) => c.headers['authorization'] === 'Bearer sk-held-by-the-gateway')).toBe(true);

      // $0.70 fits only after all five settled to $0.05 each ($0.25 spent).
      const probe = await until(() => chat(b, streamed(700), auth), (r) => r.status === 200);
      expect(probe.text.trimEnd().endsWith('data: [DONE]')).toBe(true);

      // A stream that costs more than it reserved ($0.80 for a $0.20 reservation) is charged in full.
      // The probe's settlement reaches Redis just after its stream ends; until then its $0.70 is still
      // reserved and this call would not fit, so wait for it (a refused try never reaches the provider).
      fake.next({ usage: { promptTokens: 5, completionTokens: 800 } });
      expect((await until(() => chat(a, streamed(200), auth), (r) => r.status === 200)).status).toBe(200);
      // Spent now: 0.25 + 0.05 + 0.80 = $1.10, seen by the other replica once settled. Until A's
      // settlement lands, B still counts A's $0.20 reservation and may admit a probe: make such probes
      // cost nothing real, so the settled total stays exactly $1.10 (refused probes never reach the provider).
      expect(fake.calls).toHaveLength(7);
      fake.setDefault({ usage: { promptTokens: 0, completionTokens: 0 } });
      let admitted = 0;
      const refused = await until(
        () => chat(b, streamed(1), auth).then((r) => ((admitted += r.status === 200 ? 1 : 0), r)),
        (r) => r.status === 402 && openaiError(r).message.includes('$1.1000 used'),
      );
      const resetAt = /It resets at (\S+)\.$/.exec(openaiError(refused).message)?.[1] ?? '';
      const untilReset = Date.parse(resetAt) - Date.now();
      expect(untilReset).toBeGreaterThan(0);
      expect(untilReset).toBeLessThanOrEqual(24 * 3600 * 1000);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(fake.calls).toHaveLength(7 + admitted);
    });
  });
});
