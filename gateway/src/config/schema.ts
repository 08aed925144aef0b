import { z } from 'zod';

/**
 * watchllm.yaml, validated. This schema is the single source of the config type.
 * Every field has a default so an empty (or absent) file is a working gateway.
 */

export const providerKindSchema = z.enum(['openai', 'azure', 'anthropic', 'gemini', 'openai-compatible']);

export const providerConfigSchema = z
  .object({
    /** Needed only for providers the gateway does not know by id (custom OpenAI-compatible hosts). */
    kind: providerKindSchema.optional(),
    /** In the same form as the provider SDK's baseURL, e.g. https://api.openai.com/v1. */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Key the gateway holds for calls made with a gateway (`wl_`) key. */
    api_key: z.string().min(1).optional(),
    /** Azure `api-version`; Anthropic default `anthropic-version`. */
    api_version: z.string().min(1).optional(),
    /** Azure: model name -> deployment name. */
    deployments: z.record(z.string(), z.string()).optional(),
    /** Static headers added to every upstream request. */
    headers: z.record(z.string(), z.string()).optional(),
    /** Model globs routed to this provider when the request names no provider. */
    models: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const gatewayKeyConfigSchema = z
  .object({
    name: z.string().min(1),
    project: z.string().min(1).default('default'),
    /** The key itself (`wl_...`), or its sha256 hex so the file holds no secret. */
    key: z.string().startsWith('wl_').optional(),
    key_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  })
  .strict()
  .refine((k) => (k.key === undefined) !== (k.key_sha256 === undefined), {
    message: 'give exactly one of key or key_sha256',
  });

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.coerce.number().int().min(0).max(65535).default(8787),
        /** Largest accepted request body; providers accept up to about this much. */
        max_body_mb: z.number().positive().default(64),
        /** How long to wait for the provider's response headers. */
        upstream_timeout_ms: z.number().int().positive().default(600_000),
        /** How long a stream may stay silent before the gateway gives up on it. */
        stream_idle_timeout_ms: z.number().int().positive().default(300_000),
        /** How long SIGTERM waits for in-flight streams before closing them. */
        shutdown_grace_ms: z.number().int().nonnegative().default(10_000),
        /** Trust x-forwarded-for for the client IP (only behind your own load balancer). */
        trust_proxy: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    data_dir: z.string().default('./.watchllm'),
    default_provider: z.string().default('openai'),
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/), providerConfigSchema).default({}),
    /** Calls that bring their own provider key without a gateway key. */
    byok: z.object({ allowed: z.boolean().default(true) }).strict().prefault({}),
    keys: z.array(gatewayKeyConfigSchema).default([]),
    admin_token: z.string().min(16).optional(),
    events: z
      .object({
        enabled: z.boolean().default(true),
        clickhouse_url: z.string().optional(),
        store_bodies: z.boolean().default(true),
        max_body_kb: z.number().int().positive().default(32),
        retention_days: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    redis_url: z.string().optional(),
    /** Price overrides, USD per 1M tokens, keyed `provider/model`. Validated by the pricing module. */
    prices: z.record(z.string(), z.unknown()).default({}),
    /** Policies, validated by @watchllm/policies. */
    policies: z.array(z.unknown()).default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
