import { describe, expect, test } from 'vitest';
import { errorBody, GatewayError } from '../errors.ts';
import { createExchange, type Exchange } from '../exchange.ts';
import type { Logger } from '../log.ts';
import { createMemoryCacheStore, type CacheStore } from '../stores/index.ts';
import { keepStoredUsageOnce } from './finish.ts';
import { checkResponseOwner, MARK_TTL_SECONDS, recordResponseOwner } from './response-owner.ts';

const log: Logger = { info() {}, warn() {}, error() {} };
const USAGE = { promptTokens: 3, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

/** A call as the pipeline has it once routed to OpenAI and identified: `who` is a project, or `fp:` a provider key's hash. */
function call(method: string, path: string, who: string | null, body: Record<string, unknown> | null = null): Exchange {
  const x = createExchange({ id: 'x', surface: 'openai', endpoint: 'responses', method, path, ip: null, userAgent: null, now: 0, t0: 0 });
  x.route = { provider: 'openai', model: 'gpt-4o-mini' };
  x.request.body = body;
  if (who?.startsWith('fp:')) x.auth.providerKeyHash = who.slice(3);
  else if (who !== null) {
    x.auth.project = who;
    x.auth.providerKeyFingerprint = 'heldkey00000';
  }
  return x;
}

/** Records `who` as the owner of the response its POST made. */
async function made(cache: CacheStore, id: string, who: string | null, body: Record<string, unknown> = { model: 'gpt-4o-mini', input: 'hi' }) {
  const x = call('POST', '/v1/responses', who, body);
  x.response.responseId = id;
  await recordResponseOwner(cache, x, log);
}

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatewayError) return { status: e.status, outcome: e.outcome, body: errorBody(e, 'openai') };
    throw e;
  }
  return null;
}

describe('the owner of a stored response', () => {
  test('another project gets what the provider answers for an id it does not hold, on every stored-response call', async () => {
    const cache = createMemoryCacheStore();
    await made(cache, 'resp_a', 'acme');
    for (const [method, path] of [
      ['GET', '/v1/responses/resp_a'],
      ['GET', '/v1/responses/resp_a/input_items?limit=2'],
      ['DELETE', '/v1/responses/resp_a'],
      ['POST', '/v1/responses/resp_a/cancel'],
    ] as const) {
      expect(await checkResponseOwner(cache, call(method, path, 'acme'), log)).toBe('owner');
      expect(await refusal(checkResponseOwner(cache, call(method, path, 'globex'), log))).toEqual({
        status: 404,
        outcome: 'invalid',
        body: { error: { message: "Response with id 'resp_a' not found.", type: 'invalid_request_error', param: null, code: null } },
      });
    }
  });

  test('continuing it (previous_response_id) from another project: the provider’s 400 for an unknown previous response', async () => {
    const cache = createMemoryCacheStore();
    await made(cache, 'resp_a', 'acme');
    const next = (who: string) => call('POST', '/v1/responses', who, { model: 'gpt-4o-mini', input: 'and?', previous_response_id: 'resp_a' });
    expect(await checkResponseOwner(cache, next('acme'), log)).toBe('owner');
    expect(await refusal(checkResponseOwner(cache, next('globex'), log))).toEqual({
      status: 400,
      outcome: 'invalid',
      body: { error: { message: "Previous response with id 'resp_a' not found.", type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' } },
    });
    // a new conversation names none
    expect(await checkResponseOwner(cache, call('POST', '/v1/responses', 'globex', { model: 'm', input: 'hi' }), log)).toBeNull();
  });

  test('a provider key’s own scope (BYOK); an anonymous caller owns nothing', async () => {
    const cache = createMemoryCacheStore();
    await made(cache, 'resp_b', 'fp:byok00000001');
    expect(await checkResponseOwner(cache, call('GET', '/v1/responses/resp_b', 'fp:byok00000001'), log)).toBe('owner');
    expect(await refusal(checkResponseOwner(cache, call('GET', '/v1/responses/resp_b', 'fp:byok00000002'), log))).toMatchObject({ status: 404 });
    expect(await refusal(checkResponseOwner(cache, call('GET', '/v1/responses/resp_b', null), log))).toMatchObject({ status: 404 });
    // and records none
    await made(cache, 'resp_anon', null);
    expect(await cache.get('responses-owner:openai:resp_anon')).toBeNull();
  });

  test('a response without a mark (made before owners were kept, or outside the gateway) is let through', async () => {
    const cache = createMemoryCacheStore();
    expect(await checkResponseOwner(cache, call('GET', '/v1/responses/resp_old', 'globex'), log)).toBe('unmarked');
    // nor is one made with store: false marked (the provider keeps nothing to ask about)
    await made(cache, 'resp_nostore', 'acme', { model: 'm', input: 'hi', store: false });
    expect(await checkResponseOwner(cache, call('GET', '/v1/responses/resp_nostore', 'globex'), log)).toBe('unmarked');
  });

  test('marks are per provider, kept 30 days', async () => {
    const sets: Array<[string, number]> = [];
    const inner = createMemoryCacheStore();
    const cache: CacheStore = {
      get: (k) => inner.get(k),
      set: (k, v, ttl) => {
        sets.push([k, ttl]);
        return inner.set(k, v, ttl);
      },
      close: () => inner.close(),
    };
    await made(cache, 'resp_c', 'acme');
    expect(sets).toEqual([['responses-owner:openai:resp_c', MARK_TTL_SECONDS]]);
    expect(MARK_TTL_SECONDS).toBe(30 * 24 * 3600);
    const azure = call('GET', '/v1/responses/resp_c', 'globex');
    azure.route = { provider: 'azure', model: '' };
    expect(await checkResponseOwner(cache, azure, log)).toBe('unmarked');
  });

  test('a store that fails open (a miss) lets the call through; one that throws is logged and does too', async () => {
    const warned: string[] = [];
    const broken: CacheStore = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      close: async () => {},
    };
    const logging: Logger = { ...log, warn: (_f, m) => void warned.push(m) };
    expect(await checkResponseOwner(broken, call('GET', '/v1/responses/resp_a', 'globex'), logging)).toBe('unmarked');
    const post = call('POST', '/v1/responses', 'acme', { model: 'm', input: 'hi' });
    post.response.responseId = 'resp_a';
    await recordResponseOwner(broken, post, logging);
    expect(warned).toEqual(['reading the owner of a stored response failed', 'recording the owner of a stored response failed']);
  });
});

describe('a finished background response’s usage', () => {
  const retrieved = (who: string) => {
    const x = call('GET', '/v1/responses/resp_bg', who);
    x.response.usage = { ...USAGE };
    x.response.usageSource = 'provider';
    return x;
  };

  test('is counted by its owner once; a call whose ownership was never checked counts nothing', async () => {
    const cache = createMemoryCacheStore();
    const unchecked = retrieved('globex');
    await keepStoredUsageOnce(cache, unchecked, log, null);
    expect(unchecked.response).toMatchObject({ usage: null, usageSource: 'none' });

    const first = retrieved('acme');
    await keepStoredUsageOnce(cache, first, log, 'owner');
    expect(first.response).toMatchObject({ usage: USAGE, usageSource: 'provider' });
    const again = retrieved('acme');
    await keepStoredUsageOnce(cache, again, log, 'owner');
    expect(again.response.usage).toBeNull();
  });
});
