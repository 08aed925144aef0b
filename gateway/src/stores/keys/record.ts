import type { SecretBox } from './crypto.ts';
import { generateKey, hashKey, newKeyId } from './material.ts';
import { type CreateKeyInput, type IssuedKey, type KeyBudget, keyBudgetSchema, type KeyRecord } from './types.ts';

/** Build the stored record for a new key, encrypting its provider credentials. */
export function issueKey(input: CreateKeyInput, now: number, box: SecretBox | undefined): IssuedKey {
  const key = generateKey();
  const id = newKeyId();
  const record: KeyRecord = {
    id,
    project: input.project,
    name: input.name,
    keyHash: hashKey(key),
    createdAt: now,
    revokedAt: null,
    rotatedAt: null,
    ...(input.allowedModels && { allowedModels: input.allowedModels }),
    ...(input.limits && { limits: input.limits }),
    ...(input.budget && { budget: input.budget }),
    ...(input.cache && { cache: input.cache }),
    ...(input.storeBodies !== undefined && { storeBodies: input.storeBodies }),
  };
  if (input.providerKeys && Object.keys(input.providerKeys).length > 0) {
    if (!box) throw new Error('providerKeys need WATCHLLM_SECRET to be set (they are stored encrypted)');
    record.providerKeys = Object.fromEntries(
      Object.entries(input.providerKeys).map(([provider, plain]) => [provider, box.encrypt(plain, aad(id, provider))]),
    );
  }
  return { record, key };
}

/** The same key id and settings under a new secret. */
export function rotateKey(record: KeyRecord, now: number): IssuedKey {
  const key = generateKey();
  return { record: { ...record, keyHash: hashKey(key), rotatedAt: now }, key };
}

/**
 * What `KeyStore.put` stores for a declared `record` when `existing` has its id. The lifecycle of
 * a key is the key store's: a revocation or rotation made through the admin API outlives the
 * re-seeding of watchllm.yaml at every start and Redis reconnect, and settings (project, name,
 * limits, budget...) come from the declaration. Changing the key itself in watchllm.yaml gives it
 * another id (ids of declared keys derive from the hash), so a new declared key is always new here.
 * An existing record with another hash that was never rotated is another key under the same id
 * (a 48-bit prefix collision, or a test putting a new hash): the declaration replaces it.
 */
export function declaredRecord(existing: KeyRecord | null, record: KeyRecord): KeyRecord {
  if (!existing) return record;
  const rotated = existing.rotatedAt !== undefined && existing.rotatedAt !== null;
  if (existing.keyHash !== record.keyHash && !rotated) return record;
  return {
    ...record,
    keyHash: existing.keyHash,
    createdAt: existing.createdAt,
    revokedAt: existing.revokedAt,
    ...(existing.rotatedAt !== undefined ? { rotatedAt: existing.rotatedAt } : {}),
  };
}

/** The key's own credential for `provider`, decrypted now (at use); null when it has none. */
export function providerKeyFor(record: KeyRecord, provider: string, box: SecretBox): string | null {
  const ciphertext = record.providerKeys?.[provider];
  return ciphertext === undefined ? null : box.decrypt(ciphertext, aad(record.id, provider));
}

function aad(id: string, provider: string): string {
  return `${id}:${provider}`;
}

/**
 * What the admin API shows: everything but the hash and the ciphertexts (only which providers
 * have a credential).
 */
export function publicKeyView(record: KeyRecord): Omit<KeyRecord, 'keyHash' | 'providerKeys'> & { providers: string[] } {
  const { keyHash: _hash, providerKeys, ...rest } = record;
  return { ...rest, providers: Object.keys(providerKeys ?? {}).sort() };
}

/**
 * The CLI's `--budget` value: `50/month`, `$12.5/day`, `50/mo`. Throws with a usable message.
 */
export function parseBudgetFlag(value: string): KeyBudget {
  const m = /^\s*\$?(\d+(?:\.\d+)?)\s*\/\s*(day|d|daily|month|mo|monthly)\s*$/i.exec(value);
  const amount = m?.[1];
  const unit = m?.[2]?.toLowerCase();
  if (amount === undefined || unit === undefined) {
    throw new Error(`invalid budget "${value}": expected <usd>/<day|month>, e.g. 50/month`);
  }
  const parsed = keyBudgetSchema.safeParse({ usd: Number(amount), period: unit.startsWith('d') ? 'day' : 'month' });
  if (!parsed.success) throw new Error(`invalid budget "${value}": the amount must be more than 0`);
  return parsed.data;
}
