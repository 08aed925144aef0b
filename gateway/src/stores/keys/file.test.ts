import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { withFile } from './file.ts';
import { hashKey } from './material.ts';
import { createMemoryKeyStore } from './memory.ts';

describe('the in-process key store kept in a file', () => {
  test('keys created, rotated and revoked survive a restart; the file holds no key', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
    const first = await withFile(createMemoryKeyStore(), path);
    const a = await first.create({ project: 'acme', name: 'a' }, 1);
    const b = await first.create({ project: 'acme', name: 'b' }, 2);
    const rotated = await first.rotate(a.record.id, 3);
    await first.revoke(b.record.id, 4);
    expect(readFileSync(path, 'utf8')).not.toContain(a.key);

    const second = await withFile(createMemoryKeyStore(), path);
    expect(await second.lookup(rotated!.key)).toMatchObject({ id: a.record.id, project: 'acme' });
    expect(await second.lookup(a.key)).toBeNull();
    expect(await second.lookup(b.key)).toBeNull();
    expect((await second.get(b.record.id))?.revokedAt).toBe(4);
  });

  test('keys from watchllm.yaml (cfg_ ids) are not written to the file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
    const store = await withFile(createMemoryKeyStore(), path);
    await store.put({ id: 'cfg_abc', project: 'p', name: 'n', keyHash: 'a'.repeat(64), createdAt: 0, revokedAt: null });
    await store.create({ project: 'acme', name: 'x' }, 1);
    const ids = (JSON.parse(readFileSync(path, 'utf8')) as Array<{ id: string }>).map((r) => r.id);
    expect(ids.some((id) => id.startsWith('cfg_'))).toBe(false);
    expect(ids).toHaveLength(1);
  });

  test('a key from watchllm.yaml revoked through the admin API stays revoked after a restart and a new seeding', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
    const declared = { id: 'cfg_abc', project: 'p', name: 'n', keyHash: hashKey('wl_declared_key_0123456789'), createdAt: 0, revokedAt: null };
    const first = await withFile(createMemoryKeyStore(), path);
    await first.put(declared);
    await first.revoke('cfg_abc', 5);

    const second = await withFile(createMemoryKeyStore(), path);
    await second.put(declared); // seeding at start
    expect(await second.lookup('wl_declared_key_0123456789')).toBeNull();
    expect((await second.get('cfg_abc'))?.revokedAt).toBe(5);
  });
});
