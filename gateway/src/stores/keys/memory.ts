import type { SecretBox } from './crypto.ts';
import { hashKey, isGatewayKey } from './material.ts';
import { declaredRecord, issueKey, rotateKey } from './record.ts';
import type { KeyRecord, KeyStore } from './types.ts';

export interface KeyStoreOptions {
  /** From WATCHLLM_SECRET; without it, keys cannot carry provider credentials. */
  box?: SecretBox;
}

/** Keys for a single gateway (declared in watchllm.yaml or created through the admin API). */
export function createMemoryKeyStore({ box }: KeyStoreOptions = {}): KeyStore {
  const byId = new Map<string, KeyRecord>();
  const idByHash = new Map<string, string>();

  return {
    async create(input, now) {
      const issued = issueKey(input, now, box);
      byId.set(issued.record.id, issued.record);
      idByHash.set(issued.record.keyHash, issued.record.id);
      return issued;
    },
    async put(declared) {
      const old = byId.get(declared.id);
      const record = declaredRecord(old ?? null, declared);
      if (old) idByHash.delete(old.keyHash);
      byId.set(record.id, record);
      if (record.revokedAt === null) idByHash.set(record.keyHash, record.id);
    },
    async list(filter = {}) {
      return [...byId.values()].filter((r) => filter.project === undefined || r.project === filter.project);
    },
    async get(id) {
      return byId.get(id) ?? null;
    },
    async lookup(key) {
      if (!isGatewayKey(key)) return null;
      const id = idByHash.get(hashKey(key));
      const record = id === undefined ? undefined : byId.get(id);
      return record && record.revokedAt === null ? record : null;
    },
    async revoke(id, now) {
      const record = byId.get(id);
      if (!record) return null;
      if (record.revokedAt !== null) return record;
      const revoked = { ...record, revokedAt: now };
      byId.set(id, revoked);
      idByHash.delete(record.keyHash);
      return revoked;
    },
    async rotate(id, now) {
      const record = byId.get(id);
      if (!record || record.revokedAt !== null) return null;
      const issued = rotateKey(record, now);
      byId.set(id, issued.record);
      idByHash.delete(record.keyHash);
      idByHash.set(issued.record.keyHash, id);
      return issued;
    },
    async close() {},
  };
}
