import { luaScript, tagged, type RedisClient } from '../redis.ts';
import { hashKey, isGatewayKey } from './material.ts';
import type { KeyStoreOptions } from './memory.ts';
import { declaredRecord, issueKey, rotateKey } from './record.ts';
import { type KeyRecord, keyRecordSchema, type KeyStore } from './types.ts';

const RECORD_PREFIX = 'wl:key:'; // wl:key:<id> -> record JSON
const BY_HASH_PREFIX = 'wl:keyhash:'; // wl:keyhash:<sha256> -> id, only while the key is valid
const INDEX_KEY = 'wl:keys'; // set of ids, for listing

export interface RedisKeyStoreOptions extends KeyStoreOptions {
  /**
   * How long a replica reuses a successful lookup, at most 1000 ms: a key revoked or rotated on
   * any replica stops working everywhere within this time, while a busy key costs one Redis read
   * per replica per interval instead of two per request. (Pub/sub invalidation would be faster,
   * but a lost message would leave a revoked key alive; a TTL cannot be lost.)
   */
  lookupCacheMs?: number;
  /** Clock for the lookup cache (injectable for tests). */
  clock?: () => number;
}

const MAX_CACHED = 10_000;

/**
 * Compare-and-set of a record and its index: writes ARGV[2] only if the record is still ARGV[1]
 * ('' = absent), so a declaration computed from a read never overwrites a revocation made since.
 * KEYS: record, id set, old hash index, new hash index (all under one hash tag on a cluster).
 * ARGV: expected, record JSON, id, '1' when the key is valid (its hash indexed).
 */
const putIfUnchanged = luaScript(`
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if KEYS[3] ~= KEYS[4] then redis.call('DEL', KEYS[3]) end
if ARGV[4] == '1' then redis.call('SET', KEYS[4], ARGV[3]) else redis.call('DEL', KEYS[4]) end
return 1
`);
/** A put that lost its compare-and-set that many times in a row gives up (never seen in practice). */
const PUT_ATTEMPTS = 5;

/**
 * Keys shared by every replica. Writes go through MULTI so the record and its index agree; on a
 * cluster all of them carry the `{wl}` hash tag, so the transaction stays in one slot.
 */
export function createRedisKeyStore(client: RedisClient, opts: RedisKeyStoreOptions = {}): KeyStore {
  const { box, clock = Date.now } = opts;
  const RECORD = tagged(client, RECORD_PREFIX, 'wl');
  const BY_HASH = tagged(client, BY_HASH_PREFIX, 'wl');
  const INDEX = tagged(client, INDEX_KEY, 'wl');
  const lookupCacheMs = Math.min(1000, Math.max(0, opts.lookupCacheMs ?? 1000));
  const cache = new Map<string, { record: KeyRecord; until: number }>();

  async function read(id: string): Promise<KeyRecord | null> {
    return parse(await client.get(RECORD + id));
  }

  async function write(record: KeyRecord, oldHash: string | null): Promise<void> {
    const tx = client.multi().set(RECORD + record.id, JSON.stringify(record)).sadd(INDEX, record.id);
    if (oldHash !== null && oldHash !== record.keyHash) tx.del(BY_HASH + oldHash);
    if (record.revokedAt === null) tx.set(BY_HASH + record.keyHash, record.id);
    else tx.del(BY_HASH + record.keyHash);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('key store transaction aborted');
    if (oldHash !== null) cache.delete(oldHash);
    cache.delete(record.keyHash);
  }

  return {
    async create(input, now) {
      const issued = issueKey(input, now, box);
      await write(issued.record, null);
      return issued;
    },
    async put(declared) {
      for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
        const raw = await client.get(RECORD + declared.id);
        const old = parse(raw);
        const record = declaredRecord(old, declared);
        const oldHash = old?.keyHash ?? record.keyHash;
        const keys = [RECORD + record.id, INDEX, BY_HASH + oldHash, BY_HASH + record.keyHash];
        const args = [raw ?? '', JSON.stringify(record), record.id, record.revokedAt === null ? '1' : '0'];
        if (Number(await putIfUnchanged.run(client, keys, args)) === 1) {
          cache.delete(oldHash);
          cache.delete(record.keyHash);
          return;
        }
      }
      throw new Error(`key ${declared.id} kept changing while it was being declared; not written`);
    },
    async list(filter = {}) {
      const ids = (await client.smembers(INDEX)).sort();
      if (ids.length === 0) return [];
      const raws = await client.mget(ids.map((id) => RECORD + id));
      return raws
        .map(parse)
        .filter((r): r is KeyRecord => r !== null && (filter.project === undefined || r.project === filter.project));
    },
    get: read,
    async lookup(key) {
      if (!isGatewayKey(key)) return null;
      const hash = hashKey(key);
      const t = clock();
      const hit = cache.get(hash);
      if (hit && hit.until > t) return hit.record;
      cache.delete(hash);
      const id = await client.get(BY_HASH + hash);
      const record = id === null ? null : await read(id);
      if (!record || record.revokedAt !== null || record.keyHash !== hash) return null;
      if (lookupCacheMs > 0) {
        if (cache.size >= MAX_CACHED) cache.clear();
        cache.set(hash, { record, until: t + lookupCacheMs });
      }
      return record;
    },
    async revoke(id, now) {
      const record = await read(id);
      if (!record) return null;
      if (record.revokedAt !== null) return record;
      const revoked = { ...record, revokedAt: now };
      await write(revoked, record.keyHash);
      return revoked;
    },
    async rotate(id, now) {
      const record = await read(id);
      if (!record || record.revokedAt !== null) return null;
      const issued = rotateKey(record, now);
      await write(issued.record, record.keyHash);
      return issued;
    },
    async close() {
      cache.clear();
    },
  };
}

function parse(raw: string | null): KeyRecord | null {
  if (raw === null) return null;
  try {
    const parsed = keyRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
