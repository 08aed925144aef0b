import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminAuth } from '../admin-auth.ts';
import { createMemoryKeyStore, createRedisKeyStore, createSecretBox, type KeyStore, StoreUnavailableError } from '../stores/index.ts';
import { redisFixture, type RedisFixture } from '../stores/testing.ts';
import { seedConfigKeys } from '../seed-keys.ts';
import { adminKeyRoutes, MAX_ADMIN_BODY_BYTES } from './admin-keys.ts';
import { countingBody } from '../../../test/support/bodies.ts';

const TOKEN = 'admin-token-0123456789';
const T0 = Date.UTC(2030, 0, 2, 3, 4, 5);
const auth = { authorization: `Bearer ${TOKEN}` };
const CONTRACT_BODY = { project: 'acme', name: 'ci', limits: { rpm: 100, tpm: 50000 }, budget: { usd: 50, period: 'month' } };
/** The gateway's provider ids (its registry's), which `providerKeys` may name. */
const PROVIDERS: ReadonlySet<string> = new Set(['openai', 'anthropic', 'groq']);

/** The app as the gateway mounts it: admin auth in front of the key routes. */
function adminApp(keys: KeyStore, now = () => T0): Hono {
  const app = new Hono();
  app.use('/admin/*', adminAuth(TOKEN));
  app.route('/', adminKeyRoutes({ keys, providers: PROVIDERS, now }));
  return app;
}

function post(app: Hono, path: string, body: unknown) {
  return app.request(path, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

type Json = Record<string, unknown>;
const json = async (res: Response) => (await res.json()) as Json;

describe('POST /admin/keys', () => {
  test('answers 201 with the id, the wl_ key shown once, and the public view of the key', async () => {
    const keys = createMemoryKeyStore();
    const res = await post(adminApp(keys), '/admin/keys', CONTRACT_BODY);
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(Object.keys(body).slice(0, 2)).toEqual(['id', 'key']);
    expect(body).toEqual({
      id: expect.stringMatching(/^key_/),
      key: expect.stringMatching(/^wl_[0-9A-Za-z]{43}$/),
      project: 'acme',
      name: 'ci',
      limits: { rpm: 100, tpm: 50000 },
      budget: { usd: 50, period: 'month' },
      createdAt: T0,
      revokedAt: null,
      rotatedAt: null,
      providers: [],
    });
    // The key it printed is the key that now works.
    expect((await keys.lookup(String(body.key)))?.id).toBe(body.id);
  });

  test('stores provider credentials encrypted and shows only which providers have one', async () => {
    const keys = createMemoryKeyStore({ box: createSecretBox('test-secret') });
    const app = adminApp(keys);
    const res = await post(app, '/admin/keys', { project: 'acme', providerKeys: { openai: 'sk-live-abc', anthropic: 'sk-ant-xyz' } });
    expect(res.status).toBe(201);
    const created = await json(res);
    expect(created.providers).toEqual(['anthropic', 'openai']);
    const listed = await (await app.request('/admin/keys', { headers: auth })).text();
    expect(listed).not.toContain('sk-live-abc');
    expect(listed).not.toContain('keyHash');
    expect(listed).not.toContain('providerKeys');
  });

  test('refuses provider credentials with a clear 400 when WATCHLLM_SECRET is not set', async () => {
    const keys = createMemoryKeyStore();
    const res = await post(adminApp(keys), '/admin/keys', { project: 'acme', providerKeys: { openai: 'sk-live-abc' } });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'secret_not_configured',
      param: 'providerKeys',
      message: expect.stringContaining('WATCHLLM_SECRET'),
    });
    expect(await keys.list()).toEqual([]);
  });

  test.each(['OpenAI', 'open-ai', 'mistral'])('refuses a provider credential under %s, an id the gateway has no provider for, listing the known ids', async (id) => {
    const keys = createMemoryKeyStore({ box: createSecretBox('test-secret') });
    const res = await post(adminApp(keys), '/admin/keys', { project: 'acme', providerKeys: { openai: 'sk-live-abc', [id]: 'sk-live-def' } });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toEqual({
      type: 'invalid_request_error',
      code: 'unknown_provider',
      param: `providerKeys.${id}`,
      message: `providerKeys.${id}: Unknown provider '${id}'. Known providers: anthropic, groq, openai.`,
    });
    // Nothing stored: such a key's calls would have gone out on the operator's credential.
    expect(await keys.list()).toEqual([]);
  });

  test('names an unknown provider id even when WATCHLLM_SECRET is not set', async () => {
    const res = await post(adminApp(createMemoryKeyStore()), '/admin/keys', { project: 'acme', providerKeys: { OpenAI: 'sk-live-abc' } });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'unknown_provider', param: 'providerKeys.OpenAI' });
  });

  test.each([
    ['a body that is not JSON', '{"project":', null, 'invalid_json'],
    ['a missing project', { name: 'ci' }, 'project', 'invalid_request'],
    ['a limit that is not a positive integer', { project: 'acme', limits: { rpm: 0 } }, 'limits.rpm', 'invalid_request'],
    ['an unknown budget period', { project: 'acme', budget: { usd: 5, period: 'week' } }, 'budget.period', 'invalid_request'],
    ['a misspelt limit name', { project: 'acme', limits: { rmp: 100 } }, 'limits.rmp', 'invalid_request'],
    ['a misspelt top-level field', { project: 'acme', limit: { rpm: 100 } }, 'limit', 'invalid_request'],
  ] as const)('answers 400 naming the field for %s', async (_title, body, param, code) => {
    const keys = createMemoryKeyStore();
    const res = await post(adminApp(keys), '/admin/keys', body);
    expect(res.status).toBe(400);
    const { error } = (await json(res)) as { error: Json };
    expect(error).toMatchObject({ type: 'invalid_request_error', code, param });
    if (param) expect(error.message).toMatch(new RegExp(`^${param}: `));
    expect(await keys.list()).toEqual([]);
  });
});

/** A body of `total` spaces served in 64 KiB chunks, counting what was pulled from it. */
const spaces = (total: number) => countingBody(total, 64 * 1024);

describe('POST /admin/keys: body size', () => {
  const send = (keys: KeyStore, body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
    adminApp(keys).request('/admin/keys', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);
  const tooLarge = { error: { type: 'invalid_request_error', code: 'request_too_large', message: expect.stringContaining('1 MB') } };

  test('a declared Content-Length over 1 MiB is a 413 before the body is read', async () => {
    const keys = createMemoryKeyStore();
    const big = spaces(16 * 1024 * 1024);
    const res = await send(keys, big.body, { 'content-length': String(MAX_ADMIN_BODY_BYTES + 1) });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toMatchObject(tooLarge);
    expect(big.pulled()).toBeLessThanOrEqual(big.CHUNK);
    expect(await keys.list()).toEqual([]);
  });

  test('a chunked body is cut with a 413 once it passes 1 MiB, not buffered whole', async () => {
    const keys = createMemoryKeyStore();
    const big = spaces(16 * 1024 * 1024);
    const res = await send(keys, big.body);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject(tooLarge);
    expect(big.pulled()).toBeLessThanOrEqual(MAX_ADMIN_BODY_BYTES + 2 * big.CHUNK);
    expect(await keys.list()).toEqual([]);
  });
});

describe('GET /admin/keys', () => {
  test('lists public views oldest first, optionally for one project, never hashes', async () => {
    let t = T0;
    const keys = createMemoryKeyStore();
    const app = adminApp(keys, () => t++);
    await post(app, '/admin/keys', { project: 'acme', name: 'a' });
    await post(app, '/admin/keys', { project: 'other', name: 'b' });
    await post(app, '/admin/keys', { project: 'acme', name: 'c' });

    const all = await app.request('/admin/keys', { headers: auth });
    expect(all.status).toBe(200);
    const { data } = (await all.json()) as { data: Json[] };
    expect(data.map((k) => k.name)).toEqual(['a', 'b', 'c']);
    for (const k of data) {
      expect(k).not.toHaveProperty('keyHash');
      expect(k).not.toHaveProperty('key');
      expect(k).toHaveProperty('providers', []);
    }

    const acme = (await (await app.request('/admin/keys?project=acme', { headers: auth })).json()) as { data: Json[] };
    expect(acme.data.map((k) => k.name)).toEqual(['a', 'c']);
  });

  test('shows one key by id, and 404 for an unknown id', async () => {
    const keys = createMemoryKeyStore();
    const app = adminApp(keys);
    const created = await json(await post(app, '/admin/keys', CONTRACT_BODY));
    const one = await app.request(`/admin/keys/${String(created.id)}`, { headers: auth });
    expect(one.status).toBe(200);
    const { key: _key, ...view } = created;
    expect(await one.json()).toEqual(view);

    const missing = await app.request('/admin/keys/key_nope', { headers: auth });
    expect(missing.status).toBe(404);
    expect((await json(missing)).error).toMatchObject({ type: 'invalid_request_error', code: 'key_not_found' });
  });

  test('answers 503 store_unavailable when the shared store is down', async () => {
    const down: KeyStore = {
      ...createMemoryKeyStore(),
      list: () => Promise.reject(new StoreUnavailableError('keys', new Error('connect ECONNREFUSED'))),
    };
    const res = await adminApp(down).request('/admin/keys', { headers: auth });
    expect(res.status).toBe(503);
    expect((await json(res)).error).toMatchObject({ type: 'api_error', code: 'store_unavailable' });
  });

  test('requires the admin token', async () => {
    const res = await adminApp(createMemoryKeyStore()).request('/admin/keys');
    expect(res.status).toBe(401);
  });
});

describe('DELETE /admin/keys/:id and POST /admin/keys/:id/rotate', () => {
  test('revokes a key: it stops working, revocation is idempotent and keeps the first time', async () => {
    let t = T0;
    const keys = createMemoryKeyStore();
    const app = adminApp(keys, () => t);
    const created = await json(await post(app, '/admin/keys', CONTRACT_BODY));
    const id = String(created.id);

    t = T0 + 5000;
    const res = await app.request(`/admin/keys/${id}`, { method: 'DELETE', headers: auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, revoked: true, revokedAt: T0 + 5000 });
    expect(await keys.lookup(String(created.key))).toBeNull();

    t = T0 + 9000;
    const again = await app.request(`/admin/keys/${id}`, { method: 'DELETE', headers: auth });
    expect(await again.json()).toEqual({ id, revoked: true, revokedAt: T0 + 5000 });

    const unknown = await app.request('/admin/keys/key_nope', { method: 'DELETE', headers: auth });
    expect(unknown.status).toBe(404);
  });

  test('rotates a key: same id and settings, a new wl_ key, the old one stops working', async () => {
    const keys = createMemoryKeyStore();
    const app = adminApp(keys);
    const created = await json(await post(app, '/admin/keys', CONTRACT_BODY));
    const id = String(created.id);

    const res = await post(app, `/admin/keys/${id}/rotate`, '');
    expect(res.status).toBe(201);
    const rotated = await json(res);
    expect(rotated).toMatchObject({ id, key: expect.stringMatching(/^wl_/), limits: CONTRACT_BODY.limits, rotatedAt: T0 });
    expect(rotated.key).not.toBe(created.key);
    expect(await keys.lookup(String(created.key))).toBeNull();
    expect((await keys.lookup(String(rotated.key)))?.id).toBe(id);
  });

  test.each([
    ['unknown', false, 404, 'key_not_found'],
    ['revoked', true, 409, 'key_revoked'],
  ] as const)('refuses to rotate a key that is %s', async (_title, revoke, status, code) => {
    const keys = createMemoryKeyStore();
    const app = adminApp(keys);
    const created = await json(await post(app, '/admin/keys', CONTRACT_BODY));
    const id = revoke ? String(created.id) : 'key_nope';
    if (revoke) await app.request(`/admin/keys/${id}`, { method: 'DELETE', headers: auth });
    const res = await post(app, `/admin/keys/${id}/rotate`, '');
    expect(res.status).toBe(status);
    expect((await json(res)).error).toMatchObject({ code });
  });

  test('refuses to rotate a key declared in watchllm.yaml (409 naming the file); the key keeps working; it can be revoked', async () => {
    const keys = createMemoryKeyStore();
    const key = 'wl_declared_in_yaml_0123456789';
    await seedConfigKeys(keys, [{ name: 'ci', project: 'acme', key }]);
    const [declared] = await keys.list();
    const app = adminApp(keys);
    const res = await post(app, `/admin/keys/${declared!.id}/rotate`, '');
    expect(res.status).toBe(409);
    const err = (await json(res)).error as Json;
    expect(err).toMatchObject({ type: 'invalid_request_error', code: 'key_declared_in_config' });
    expect(err.message).toContain('declared in watchllm.yaml');
    expect((await keys.lookup(key))?.id).toBe(declared!.id);
    // an unknown cfg_ id is still a 404
    expect((await post(app, '/admin/keys/cfg_000000000000/rotate', '')).status).toBe(404);

    expect((await app.request(`/admin/keys/${declared!.id}`, { method: 'DELETE', headers: auth })).status).toBe(200);
    expect(await keys.lookup(key)).toBeNull();
  });
});

describe('two gateways sharing one Redis', () => {
  let redis: RedisFixture;
  beforeAll(async () => {
    redis = await redisFixture();
  });
  afterAll(() => redis.close());

  test('a key created on one replica works on the other, and a revocation on either ends it everywhere within a second', async () => {
    let t = T0;
    const clock = () => t;
    const keysA = createRedisKeyStore(redis.replicaA, { clock });
    const keysB = createRedisKeyStore(redis.replicaB, { clock });
    const appA = adminApp(keysA, clock);
    const appB = adminApp(keysB, clock);

    const created = await json(await post(appA, '/admin/keys', CONTRACT_BODY));
    const key = String(created.key);
    expect((await keysA.lookup(key))?.id).toBe(created.id);
    expect((await keysB.lookup(key))?.id).toBe(created.id);

    const listedOnB = (await (await appB.request('/admin/keys?project=acme', { headers: auth })).json()) as { data: Json[] };
    expect(listedOnB.data.map((k) => k.id)).toEqual([created.id]);

    const revoked = await appB.request(`/admin/keys/${String(created.id)}`, { method: 'DELETE', headers: auth });
    expect(revoked.status).toBe(200);
    expect(await keysB.lookup(key)).toBeNull();

    // Replica A may reuse its last successful lookup for up to one second, then sees the revocation.
    t = T0 + 1001;
    expect(await keysA.lookup(key)).toBeNull();
    const onA = await json(await appA.request(`/admin/keys/${String(created.id)}`, { headers: auth }));
    expect(onA.revokedAt).toBe(T0);
  });
});
