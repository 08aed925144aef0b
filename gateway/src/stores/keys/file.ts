import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DECLARED_KEY_PREFIX } from './material.ts';
import { keyRecordSchema, type KeyRecord, type KeyStore } from './types.ts';

/**
 * The in-process key store, kept in a JSON file (hashes and ciphertexts only, like Redis holds them)
 * so keys created through the admin API survive a restart of a one-process gateway. Keys declared in
 * watchllm.yaml (`cfg_` ids) are written only once revoked: the file they come from is the source
 * of the rest, and a revocation made through the admin API must outlive the restart (loaded before
 * the configured keys are seeded, it keeps a declared key revoked: see `KeyStore.put`). A key
 * dropped from watchllm.yaml is then gone, as it should be, unless revoked (then listed, revoked).
 */
export async function withFile(store: KeyStore, path: string): Promise<KeyStore> {
  for (const record of load(path)) await store.put(record);
  const save = async () => {
    const records = (await store.list()).filter((r) => !r.id.startsWith(DECLARED_KEY_PREFIX) || r.revokedAt !== null);
    // the data dir and what it holds (prompts, answers, key hashes) are the gateway user's alone
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Write then rename: a crash mid-write never leaves a half file behind.
    writeFileSync(`${path}.tmp`, JSON.stringify(records), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  };
  return {
    ...store,
    async create(input, now) {
      const issued = await store.create(input, now);
      await save();
      return issued;
    },
    async revoke(id, now) {
      const r = await store.revoke(id, now);
      if (r) await save();
      return r;
    },
    async rotate(id, now) {
      const r = await store.rotate(id, now);
      if (r) await save();
      return r;
    },
  };
}

function load(path: string): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const parsed = keyRecordSchema.array().safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path}: not a WatchLLM key file (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}
