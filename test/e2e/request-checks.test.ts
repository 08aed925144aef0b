/**
 * What the gateway checks in a request before anything leaves it, through the real gateway: bodies
 * refused with a message that says what is wrong (in the calling surface's words), a provider prefix
 * without a model, the cache TTL header, bodies too deep to cache, the Anthropic models list's
 * pagination, and UTF-8 metadata headers.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startRedis, type TestRedis } from '../redis/index.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
  s = await startStack({ env: { WATCHLLM_REDIS_URL: redis.url } });
});
afterAll(async () => {
  await s?.close();
  await redis?.stop();
});
beforeEach(() => {
  s.fake.reset();
  s.events.length = 0;
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
    body,
  });

const MESSAGES = '"messages":[{"role":"user","content":"x"}]';
let n = 0;
/** A chat body no other test sends, so cache entries never leak between tests. */
const freshChat = () => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"ttl ${++n}"}]}`;

describe('a refused body says what is wrong, in the surface\'s shape, and is never forwarded', () => {
  test.each([
    ['max_tokens as a string', `{"model":"claude-sonnet-4-5","max_tokens":"10",${MESSAGES}}`, 'max_tokens: Input should be a valid integer'],
    ['max_tokens of 0', `{"model":"claude-sonnet-4-5","max_tokens":0,${MESSAGES}}`, 'max_tokens: Input should be greater than or equal to 1'],
    ['max_tokens of 1.5', `{"model":"claude-sonnet-4-5","max_tokens":1.5,${MESSAGES}}`, 'max_tokens: Input should be a valid integer, got a number with a fractional part'],
    ['messages that are a string', '{"model":"claude-sonnet-4-5","max_tokens":10,"messages":"hi"}', 'messages: Input should be a valid list'],
    ['a model that is a number', `{"model":5,"max_tokens":10,${MESSAGES}}`, 'model: Input should be a valid string'],
    ['a bare provider prefix', `{"model":"anthropic/","max_tokens":10,${MESSAGES}}`, "The model 'anthropic/' names the provider 'anthropic' but no model: send 'anthropic/<model>'."],
  ])('Anthropic surface: %s', async (_name, body, message) => {
    const r = await post('/v1/messages', body);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message } });
    expect(s.fake.calls).toHaveLength(0);
  });

  test.each([
    ['a model that is a number', `{"model":5,${MESSAGES}}`, "Invalid type for 'model': expected a string, but got an integer instead.", 'model', 'invalid_type'],
    ['a bare provider prefix', `{"model":"openai/",${MESSAGES}}`, "The model 'openai/' names the provider 'openai' but no model: send 'openai/<model>'.", 'model', 'missing_model'],
  ])('OpenAI surface: %s', async (_name, body, message, param, code) => {
    const r = await post('/v1/chat/completions', body);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: { type: 'invalid_request_error', message, param, code } });
    expect(s.fake.calls).toHaveLength(0);
  });
});

test.each(['maybe', 'yes', '1'])('x-watchllm-cache: %s is a 400 naming the header (on, off or refresh), never forwarded', async (value) => {
  const r = await post('/v1/chat/completions', freshChat(), { 'x-watchllm-cache': value });
  expect(r.status).toBe(400);
  expect(await r.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-watchllm-cache', message: 'x-watchllm-cache must be on, off or refresh.' } });
  expect(s.fake.calls).toHaveLength(0);
});

describe('x-watchllm-cache-ttl', () => {
  test.each(['1e16', '1e300', '-5', '0', '600.5', 'soon', String(30 * 24 * 3600 + 1)])('%s is a 400 naming the header, never forwarded', async (ttl) => {
    const r = await post('/v1/chat/completions', freshChat(), { 'x-watchllm-cache': 'on', 'x-watchllm-cache-ttl': ttl });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-watchllm-cache-ttl', message: expect.stringContaining('2592000') } });
    expect(s.fake.calls).toHaveLength(0);
  });

  test('the longest allowed TTL (30 days) is stored in Redis and served', async () => {
    const body = freshChat();
    const headers = { 'x-watchllm-cache': 'on', 'x-watchllm-cache-ttl': '2592000' };
    const first = await post('/v1/chat/completions', body, headers);
    expect(first.headers.get('x-watchllm-cache')).toBe('miss');
    await s.waitForEvents(1);
    const second = await post('/v1/chat/completions', body, headers);
    expect(second.headers.get('x-watchllm-cache')).toBe('hit');
    expect(s.fake.calls).toHaveLength(1);
  });
});

test('a body nested too deep to hash (past 256 levels) is answered, just not cached', async () => {
  const depth = 300;
  const body = `{"model":"gpt-4o-mini",${MESSAGES},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const r = await post('/v1/chat/completions', body, { 'x-watchllm-cache': 'on' });
  expect(r.status).toBe(200);
  expect(r.headers.get('x-watchllm-cache')).toBe('bypass');
  expect(s.fake.calls).toHaveLength(1);
});

test.each([
  ['just past the limit', 'gpt-4o-mini', 600],
  ['too deep to re-serialise (routing a provider prefix rewrites it)', 'openai/gpt-4o-mini', 100_000],
  // JSON.parse spends microseconds a level: such a body is refused before it is parsed
  ['of 8M levels (16 MB)', 'gpt-4o-mini', 8_000_000],
] as const)('a body nested past 512 levels, %s, is a 400, never forwarded and recorded', async (_title, model, depth) => {
  s.events.length = 0;
  const body = `{"model":"${model}",${MESSAGES},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const r = await post('/v1/chat/completions', body);
  expect(r.status).toBe(400);
  expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/nests more than 512 levels/);
  expect(s.fake.calls).toHaveLength(0);
  const [x] = await s.waitForEvents(1);
  expect(x).toMatchObject({ outcome: 'invalid', response: { status: 400 } });
});

test('the Anthropic SDK pages through models.list: limit, after_id and before_id reach Anthropic', async () => {
  const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test', maxRetries: 0 });
  await anthropic.models.list({ limit: 2, after_id: 'claude-sonnet-4-5' });
  await anthropic.models.list({ before_id: 'claude-opus-4-1' });
  expect(s.fake.calls.map((c) => c.query)).toEqual([{ limit: '2', after_id: 'claude-sonnet-4-5' }, { before_id: 'claude-opus-4-1' }]);
});

test('metadata headers sent as UTF-8 are recorded as written', async () => {
  // What a client sends for 'é€': its UTF-8 bytes (fetch puts one byte per char of a latin1 string).
  const bytes = (v: string) => Buffer.from(v, 'utf8').toString('latin1');
  const r = await post('/v1/chat/completions', `{"model":"gpt-4o-mini",${MESSAGES}}`, {
    'x-watchllm-user': bytes('José é€'),
    'x-watchllm-session': bytes('会话'),
    'x-watchllm-property-team': bytes('Zürich 🚀'),
  });
  expect(r.status).toBe(200);
  const [x] = await s.waitForEvents(1);
  expect(x!.meta).toEqual({ user: 'José é€', session: '会话', traceId: null, spanId: null, properties: { team: 'Zürich 🚀' } });
});
