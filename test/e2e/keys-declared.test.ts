/**
 * Keys declared in watchllm.yaml are seeded into the key store at every start and every Redis
 * reconnect. A revocation made through the admin API must outlive that: on replicas started later,
 * after a reconnect, and (without Redis) after a restart on the same data dir. Their rotation is
 * refused (their secret is the file's); a new key in the file is live at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRedis, type TestRedis } from '../redis/index.ts';
import { startStack, type Stack } from './harness.ts';
import { openaiError, post, until } from './processes.ts';

const ADMIN = 'admin-token-declared-0123456789';
const K1 = 'wl_declared_one_0123456789abcdef';
const K2 = 'wl_declared_two_0123456789abcdef';
const K3 = 'wl_declared_three_0123456789abcd';
const yaml = (...keys: string[]) => `
keys:
${keys.map((k, i) => `  - { name: k${i}, project: acme, key: ${k} }`).join('\n')}
`;
const admin = { authorization: `Bearer ${ADMIN}` };
const chat = (s: Stack, key: string) =>
  post(`${s.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${key}` });
const statusOf = async (s: Stack, key: string) => (await chat(s, key)).status;

async function idOf(s: Stack, name: string): Promise<string> {
  const list = (await (await fetch(`${s.url}/admin/keys`, { headers: admin })).json()) as { data: Array<{ id: string; name: string }> };
  const id = list.data.find((k) => k.name === name)?.id;
  expect(id).toMatch(/^cfg_/);
  return id!;
}

describe('two gateways on one Redis', () => {
  let redis: TestRedis;
  const stacks: Stack[] = [];
  const start = async (keys: string[]) => {
    const s = await startStack({ yaml: yaml(...keys), env: { WATCHLLM_REDIS_URL: redis.url, WATCHLLM_ADMIN_TOKEN: ADMIN, WATCHLLM_OPENAI_API_KEY: 'sk-held' } });
    stacks.push(s);
    return s;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()));
    await redis?.stop();
  });

  test('a declared key revoked on A stays revoked when B starts and when both reconnect to Redis; rotating one is a 409', async () => {
    const a = await start([K1, K2]);
    expect(await statusOf(a, K1)).toBe(200);
    const id1 = await idOf(a, 'k0');
    const revoked = await fetch(`${a.url}/admin/keys/${id1}`, { method: 'DELETE', headers: admin });
    expect(revoked.status).toBe(200);
    expect(await statusOf(a, K1)).toBe(401);

    // Another replica starts and seeds the same file (a scale-up, a rolling deploy).
    const b = await start([K1, K2]);
    // Lookups are cached for at most 1 s: wait that out, then the key must still be refused.
    await new Promise((r) => setTimeout(r, 1100));
    for (const s of [a, b]) {
      expect(await statusOf(s, K1)).toBe(401);
      expect(await statusOf(s, K2)).toBe(200);
    }
    const listed = (await (await fetch(`${b.url}/admin/keys`, { headers: admin })).json()) as { data: Array<{ id: string; revokedAt: number | null }> };
    expect(listed.data.find((k) => k.id === id1)?.revokedAt).toEqual(expect.any(Number));

    // Every client connection dropped: each gateway reconnects and seeds again on `ready`.
    const killer = new Redis(redis.url);
    try {
      const before = Number((await killer.info('stats')).match(/total_connections_received:(\d+)/)?.[1]);
      await killer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await until(
        async () => Number((await killer.info('stats')).match(/total_connections_received:(\d+)/)?.[1]),
        (n) => n >= before + 2,
      );
    } finally {
      killer.disconnect();
    }
    await until(() => chat(a, K2), (r) => r.status === 200);
    await new Promise((r) => setTimeout(r, 1100));
    for (const s of [a, b]) expect(await statusOf(s, K1)).toBe(401);

    // Its secret is the file's: rotating it is refused, and the key keeps working.
    const rotate = await post(`${a.url}/admin/keys/${await idOf(a, 'k1')}/rotate`, '', admin);
    expect(rotate.status).toBe(409);
    expect(openaiError(rotate)).toMatchObject({ code: 'key_declared_in_config' });
    expect(openaiError(rotate).message).toContain('declared in watchllm.yaml');
    expect(await statusOf(b, K2)).toBe(200);
  });

  test('a new key put in watchllm.yaml works at once, on the replica with the new file and on the others', async () => {
    const c = await start([K3, K2]);
    expect(await statusOf(c, K3)).toBe(200);
    expect(await statusOf(stacks[0]!, K3)).toBe(200);
    expect(await statusOf(c, K1)).toBe(401);
  });
});

describe('one gateway process without Redis', () => {
  test('a declared key revoked through the admin API stays revoked after a restart on the same data dir', async () => {
    const env = { WATCHLLM_DATA_DIR: mkdtempSync(join(tmpdir(), 'keys-declared-')), WATCHLLM_ADMIN_TOKEN: ADMIN, WATCHLLM_OPENAI_API_KEY: 'sk-held' };
    const first = await startStack({ yaml: yaml(K1, K2), env });
    try {
      const revoked = await fetch(`${first.url}/admin/keys/${await idOf(first, 'k0')}`, { method: 'DELETE', headers: admin });
      expect(revoked.status).toBe(200);
    } finally {
      await first.close();
    }
    const second = await startStack({ yaml: yaml(K1, K2), env });
    try {
      expect(await statusOf(second, K1)).toBe(401);
      expect(await statusOf(second, K2)).toBe(200);
    } finally {
      await second.close();
    }
  });
});
