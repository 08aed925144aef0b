import { createHash } from 'node:crypto';
import type { Config } from './config/schema.ts';
import { DECLARED_KEY_PREFIX, type KeyStore } from './stores/index.ts';

/**
 * Puts the keys declared in watchllm.yaml into the key store (by hash: the file may hold the key or
 * only its sha256). Their ids derive from the hash, so every replica seeds the same records. Run at
 * every start and Redis reconnect: a record already there keeps its revocation (`KeyStore.put`),
 * so a key revoked through the admin API stays revoked on every replica; its settings follow the
 * file. Changing the key in the file declares a new record (a new id), which is live at once.
 */
export async function seedConfigKeys(store: KeyStore, keys: Config['keys']): Promise<void> {
  for (const k of keys) {
    const keyHash = k.key_sha256 ?? createHash('sha256').update(k.key!).digest('hex');
    await store.put({
      id: `${DECLARED_KEY_PREFIX}${keyHash.slice(0, 12)}`,
      project: k.project,
      name: k.name,
      keyHash,
      createdAt: 0,
      revokedAt: null,
      ...(k.allowed_models ? { allowedModels: k.allowed_models } : {}),
      ...(k.limits ? { limits: k.limits } : {}),
      ...(k.budget ? { budget: k.budget } : {}),
      ...(k.cache ? { cache: { enabled: k.cache.enabled, ttlSeconds: k.cache.ttl_seconds } } : {}),
      ...(k.store_bodies !== undefined ? { storeBodies: k.store_bodies } : {}),
    });
  }
}
