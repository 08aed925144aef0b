import { z } from 'zod';

export const budgetPeriodSchema = z.enum(['day', 'month']);

export const keyLimitsSchema = z.strictObject({
  /** requests per minute */
  rpm: z.number().int().positive().optional(),
  /** tokens per minute */
  tpm: z.number().int().positive().optional(),
  /** tokens per UTC day */
  tpd: z.number().int().positive().optional(),
});

export const keyBudgetSchema = z.strictObject({
  usd: z.number().positive(),
  period: budgetPeriodSchema,
});

export const keyCacheSchema = z.strictObject({
  enabled: z.boolean().optional(),
  ttlSeconds: z.number().positive().optional(),
});

/**
 * `POST /admin/keys` body, e.g.
 * `{"project":"acme","name":"ci","limits":{"rpm":100,"tpm":50000},"budget":{"usd":50,"period":"month"}}`.
 * `providerKeys` carries provider -> API key in clear; it is encrypted before it is stored.
 * Unknown fields are refused so a typo ("limit") is an error, not a key without limits.
 */
export const createKeyBodySchema = z.strictObject({
  project: z.string().min(1).max(200),
  name: z.string().min(1).max(200).default('default'),
  allowedModels: z.array(z.string().min(1)).optional(),
  limits: keyLimitsSchema.optional(),
  budget: keyBudgetSchema.optional(),
  cache: keyCacheSchema.optional(),
  /** false: this key's calls are recorded without their bodies (the global setting still applies when it is off). */
  storeBodies: z.boolean().optional(),
  providerKeys: z.record(z.string().min(1), z.string().min(1)).optional(),
});
export type CreateKeyBody = z.input<typeof createKeyBodySchema>;
export type CreateKeyInput = z.output<typeof createKeyBodySchema>;

/** What is stored for a gateway key: never the key itself, only its sha256. */
export const keyRecordSchema = z.object({
  id: z.string(),
  project: z.string(),
  name: z.string(),
  /** sha256 (hex) of the `wl_` key */
  keyHash: z.string(),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
  rotatedAt: z.number().nullable().optional(),
  allowedModels: z.array(z.string()).optional(),
  limits: keyLimitsSchema.optional(),
  budget: keyBudgetSchema.optional(),
  cache: keyCacheSchema.optional(),
  /** false: events of this key's calls keep no request or response body. */
  storeBodies: z.boolean().optional(),
  /** provider -> `v1:<iv>:<tag>:<data>` (AES-256-GCM, see crypto.ts); decrypted only at use */
  providerKeys: z.record(z.string(), z.string()).optional(),
});
export type KeyRecord = z.infer<typeof keyRecordSchema>;
export type KeyLimits = z.infer<typeof keyLimitsSchema>;
export type KeyBudget = z.infer<typeof keyBudgetSchema>;

/** A new or rotated key: `key` is shown to the caller once and never stored. */
export interface IssuedKey {
  record: KeyRecord;
  key: string;
}

export interface KeyStore {
  /** Throws when `providerKeys` is given and the store has no secret box (WATCHLLM_SECRET unset). */
  create(input: CreateKeyInput, now: number): Promise<IssuedKey>;
  /**
   * Declare a record (a key from watchllm.yaml, whose hash comes from config; also a record read
   * back from the key file). A new id is stored as given. An existing record of the same key keeps
   * its revocation, rotated hash and creation time and takes everything else from `record` (see
   * `declaredRecord`): seeding again at every start and Redis reconnect never brings back a key
   * revoked through the admin API. Atomic against a concurrent revoke.
   */
  put(record: KeyRecord): Promise<void>;
  list(filter?: { project?: string }): Promise<KeyRecord[]>;
  get(id: string): Promise<KeyRecord | null>;
  /** The record of a presented `wl_` key; null when unknown, malformed or revoked. */
  lookup(key: string, now?: number): Promise<KeyRecord | null>;
  /** Marks the key revoked (idempotent; the first revocation time is kept). Null when unknown. */
  revoke(id: string, now: number): Promise<KeyRecord | null>;
  /** New secret for the same id and settings; the old key stops working. Null when unknown or revoked. */
  rotate(id: string, now: number): Promise<IssuedKey | null>;
  close(): Promise<void>;
}
