import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { T0, redisFixture, type RedisFixture } from '../testing.ts';
import { createSecretBox } from './crypto.ts';
import { hashKey } from './material.ts';
import { createMemoryKeyStore } from './memory.ts';
import { providerKeyFor, publicKeyView } from './record.ts';
import { createRedisKeyStore } from './redis.ts';
import { createKeyBodySchema, type KeyStore } from './types.ts';

let redis: RedisFixture;
beforeAll(async () => {
  redis = await redisFixture();
});
afterAll(() => redis.close());

const box = createSecretBox('test secret');
const body = createKeyBodySchema.parse({
  project: 'acme',
  name: 'ci',
  limits: { rpm: 100, tpm: 50000 },
  budget: { usd: 50, period: 'month' },
  providerKeys: { openai: 'sk-proj-secret' },
});

/** Two replicas: one store in process; two stores on two connections (lookup cache off on B). */
const targets = [
  { name: 'memory', replicas: (): [KeyStore, KeyStore] => { const s = createMemoryKeyStore({ box }); return [s, s]; } },
  {
    name: 'redis',
    replicas: (): [KeyStore, KeyStore] => [
      createRedisKeyStore(redis.replicaA, { box }),
      createRedisKeyStore(redis.replicaB, { box, lookupCacheMs: 0 }),
    ],
  },
] as const;

describe.each(targets)('KeyStore ($name)', ({ name, replicas }) => {
  let a: KeyStore;
  let b: KeyStore;
  beforeEach(async () => {
    if (name === 'redis') await redis.replicaA.flushall();
    [a, b] = replicas();
  });

  test('create -> lookup by key -> revoke -> lookup fails', async () => {
    const { record, key } = await a.create(body, T0);
    expect(key).toMatch(/^wl_[0-9A-Za-z]{43}$/);
    expect(record).toMatchObject({ project: 'acme', name: 'ci', keyHash: hashKey(key), createdAt: T0, revokedAt: null, limits: { rpm: 100, tpm: 50000 }, budget: { usd: 50, period: 'month' } });
    expect(await b.lookup(key)).toEqual(record);
    expect(await a.revoke(record.id, T0 + 1)).toMatchObject({ id: record.id, revokedAt: T0 + 1 });
    expect(await a.lookup(key)).toBeNull();
    expect(await b.lookup(key)).toBeNull();
    // still listed, marked revoked; a second revoke keeps the first time
    expect(await a.revoke(record.id, T0 + 2)).toMatchObject({ revokedAt: T0 + 1 });
    expect((await b.list()).map((r) => [r.id, r.revokedAt])).toEqual([[record.id, T0 + 1]]);
  });

  test('only the hash is stored; provider keys are encrypted and decrypt at use', async () => {
    const { record, key } = await a.create(body, T0);
    const stored = JSON.stringify(await b.get(record.id));
    expect(stored).not.toContain(key);
    expect(stored).not.toContain('sk-proj-secret');
    expect(record.providerKeys?.openai).toMatch(/^v1:/);
    const found = await b.lookup(key);
    expect(found && providerKeyFor(found, 'openai', box)).toBe('sk-proj-secret');
    expect(found && providerKeyFor(found, 'anthropic', box)).toBeNull();
    expect(publicKeyView(record)).not.toHaveProperty('keyHash');
    expect(publicKeyView(record)).toMatchObject({ id: record.id, providers: ['openai'] });
  });

  test('rotate issues a new key for the same id; the old key stops working', async () => {
    const first = await a.create(body, T0);
    const rotated = await b.rotate(first.record.id, T0 + 5);
    expect(rotated?.record).toMatchObject({ id: first.record.id, rotatedAt: T0 + 5, limits: first.record.limits });
    expect(rotated?.key).not.toBe(first.key);
    expect(await b.lookup(first.key)).toBeNull();
    expect((await a.lookup(rotated?.key ?? ''))?.id).toBe(first.record.id);
    // a rotated key keeps its credentials (they are bound to the id, not the secret)
    const found = await a.lookup(rotated?.key ?? '');
    expect(found && providerKeyFor(found, 'openai', box)).toBe('sk-proj-secret');
  });

  test('rotating or revoking an unknown key answers null; a revoked key cannot be rotated', async () => {
    expect(await a.revoke('key_nope', T0)).toBeNull();
    expect(await a.rotate('key_nope', T0)).toBeNull();
    const { record } = await a.create(body, T0);
    await a.revoke(record.id, T0);
    expect(await b.rotate(record.id, T0)).toBeNull();
  });

  test('list filters by project', async () => {
    await a.create(body, T0);
    await a.create({ ...body, project: 'other' }, T0);
    expect((await b.list({ project: 'other' })).map((r) => r.project)).toEqual(['other']);
    expect(await b.list()).toHaveLength(2);
  });

  test.each(['', 'sk-proj-abc', 'wl_short', `wl_${'0'.repeat(43)}`])('lookup of %j (malformed or unknown) is null', async (key) => {
    await a.create(body, T0);
    expect(await b.lookup(key)).toBeNull();
  });

  test('put stores a declared key as is and moves its hash', async () => {
    const { record, key } = await a.create({ project: 'acme', name: 'yaml' }, T0);
    await b.put({ ...record, keyHash: hashKey('wl_declared') });
    expect(await a.lookup(key)).toBeNull();
    expect((await a.get(record.id))?.keyHash).toBe(hashKey('wl_declared'));
  });

  test('put of a declared key again (another start, a Redis reconnect) keeps a revocation, and its settings follow the declaration', async () => {
    const declared = { id: 'cfg_declared', project: 'acme', name: 'yaml', keyHash: hashKey('wl_declared_key_0123456789'), createdAt: 0, revokedAt: null, limits: { rpm: 5 } };
    await a.put(declared);
    expect((await b.lookup('wl_declared_key_0123456789'))?.id).toBe('cfg_declared');
    await b.revoke('cfg_declared', T0);
    await a.put({ ...declared, limits: { rpm: 7 } });
    expect(await a.lookup('wl_declared_key_0123456789')).toBeNull();
    expect(await b.lookup('wl_declared_key_0123456789')).toBeNull();
    expect(await a.get('cfg_declared')).toMatchObject({ revokedAt: T0, limits: { rpm: 7 }, keyHash: declared.keyHash });
    expect((await a.list()).filter((r) => r.id === 'cfg_declared')).toHaveLength(1);
  });

  test('put of a declared key keeps a secret rotated before (records of older versions)', async () => {
    const { record } = await a.create({ project: 'acme', name: 'yaml' }, T0);
    const declared = { ...record, keyHash: hashKey('wl_declared_key_0123456789') };
    await a.put(declared);
    const rotated = await b.rotate(record.id, T0 + 1);
    await a.put(declared);
    expect(await a.lookup('wl_declared_key_0123456789')).toBeNull();
    expect((await b.lookup(rotated!.key))?.id).toBe(record.id);
  });

  test('provider keys without WATCHLLM_SECRET are refused', async () => {
    const store = name === 'memory' ? createMemoryKeyStore() : createRedisKeyStore(redis.replicaA);
    await expect(store.create(body, T0)).rejects.toThrow(/WATCHLLM_SECRET/);
  });
});

describe('Redis lookup cache', () => {
  test('another replica sees a revocation once its lookup cache (<= 1 s) expires', async () => {
    await redis.replicaA.flushall();
    let now = T0;
    const writer = createRedisKeyStore(redis.replicaA, { box });
    const reader = createRedisKeyStore(redis.replicaB, { box, clock: () => now });
    const { record, key } = await writer.create(body, T0);
    expect((await reader.lookup(key))?.id).toBe(record.id);
    await writer.revoke(record.id, T0);
    now += 999;
    expect((await reader.lookup(key))?.id).toBe(record.id);
    now += 1;
    expect(await reader.lookup(key)).toBeNull();
  });
});
