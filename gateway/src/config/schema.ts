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
    /** The host takes calls without a key (a self-hosted vLLM, Ollama, TGI): none is required or sent. */
    keyless: z.boolean().optional(),
    /** Azure `api-version`; Anthropic default `anthropic-version`. */
    api_version: z.string().min(1).optional(),
    /** Azure: model name -> deployment name. */
    deployments: z.record(z.string(), z.string()).optional(),
    /** Static headers added to every upstream request. */
    headers: z.record(z.string(), z.string()).optional(),
    /** Model globs routed to this provider when the request names no provider. */
    models: z.array(z.string().min(1)).optional(),
    /**
     * OpenAI-style streams: ask the host for usage (`stream_options.include_usage`, hidden again from
     * clients that did not ask). Default on, off for `mistral`, whose API refuses the field (it sends
     * usage on its last chunk anyway). Off: a stream's usage is read from whatever chunk carries it,
     * else estimated.
     */
    stream_usage: z.boolean().optional(),
  })
  .strict();

/** Requests per minute, tokens per minute, tokens per UTC day. */
export const limitSetSchema = z
  .object({
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    tpd: z.number().int().positive().optional(),
  })
  .strict();

export const budgetConfigSchema = z
  .object({
    usd: z.number().positive(),
    period: z.enum(['day', 'month']),
  })
  .strict();

export const gatewayKeyConfigSchema = z
  .object({
    name: z.string().min(1),
    project: z.string().min(1).default('default'),
    /** The key itself (`wl_...`), or its sha256 hex so the file holds no secret. */
    key: z.string().regex(/^wl_[0-9A-Za-z_-]{16,200}$/, 'a gateway key is wl_ followed by at least 16 letters, digits, _ or -').optional(),
    key_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    allowed_models: z.array(z.string().min(1)).optional(),
    limits: limitSetSchema.optional(),
    budget: budgetConfigSchema.optional(),
    cache: z.object({ enabled: z.boolean().optional(), ttl_seconds: z.number().positive().optional() }).strict().optional(),
    /** false: this key's calls are recorded without their bodies. */
    store_bodies: z.boolean().optional(),
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
        /**
         * How long to wait for the provider's response headers, from sending (a wait for a free
         * connection to the provider included).
         */
        upstream_timeout_ms: z.number().int().positive().default(600_000),
        /**
         * Connections open at once to one provider host (origin), at most. A call beyond them waits
         * for one to free up, within its upstream_timeout_ms.
         */
        upstream_max_connections: z.number().int().positive().default(256),
        /** How long a stream may stay silent before the gateway gives up on it. */
        stream_idle_timeout_ms: z.number().int().positive().default(300_000),
        /** How long SIGTERM waits for in-flight streams before closing them. */
        shutdown_grace_ms: z.number().int().nonnegative().default(10_000),
        /**
         * On SIGTERM, keep serving this long with /readyz answering 503 `draining` before the
         * listener closes, so a load balancer polling readiness stops sending new calls first.
         */
        drain_delay_ms: z.number().int().nonnegative().default(0),
        /**
         * How many proxies of yours stand in front (true = 1): the client address is then the
         * x-forwarded-for entry that many from the right, the one the outermost of them added.
         */
        trust_proxy: z
          .union([z.boolean(), z.number().int().min(0).max(16)])
          .default(false)
          .transform((v) => (v === true ? 1 : v === false ? 0 : v)),
      })
      .strict()
      .prefault({}),
    data_dir: z.string().default('./.watchllm'),
    default_provider: z.string().default('openai'),
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/), providerConfigSchema).default({}),
    /** Calls that bring their own provider key without a gateway key. */
    byok: z.object({ allowed: z.boolean().default(true) }).strict().prefault({}),
    keys: z.array(gatewayKeyConfigSchema).default([]),
    /**
     * The admin API reads it from `Authorization: Bearer <token>`, a token without whitespace
     * (RFC 6750 §2.1), and the console trims what is typed: a token with whitespace could never
     * sign in, so it is refused at start rather than at the first call.
     */
    admin_token: z
      .string()
      .min(16)
      .regex(/^\S*$/, 'must not contain whitespace (spaces, tabs or line breaks): the admin API reads it from `Authorization: Bearer <token>`')
      .optional(),
    /** Key material for encrypting provider credentials stored with gateway keys (AES-256-GCM). */
    secret: z.string().min(16).optional(),
    events: z
      .object({
        enabled: z.boolean().default(true),
        clickhouse_url: z.string().optional(),
        store_bodies: z.boolean().default(true),
        max_body_kb: z.number().int().positive().default(32),
        retention_days: z.number().int().positive().optional(),
        /**
         * Insert at least this often and at most this many rows at once. Fewer, larger inserts mean
         * fewer parts for ClickHouse to merge, and each insert has a fixed cost: in the embedded
         * engine ~45 ms of CPU for the `requests` part, its rollup view's part and their files,
         * whether it holds one row or thousands. Measured under a steady 1,000 calls/s, inserting
         * every 10 s instead of every 5 s halved the store's CPU per call (~45 to ~22 µs); the price
         * is a call reaching queries up to 10 s after it ends, and a crash losing up to 10 s of rows.
         */
        flush_ms: z.number().int().positive().default(10_000),
        batch_size: z.number().int().positive().default(50_000),
      })
      .strict()
      .prefault({}),
    /** The web console under /console (needs events: it browses them; opens with admin_token). */
    console: z.object({ enabled: z.boolean().default(true) }).strict().prefault({}),
    redis_url: z.string().optional(),
    /** `redis_url` names a node of a Redis Cluster (or several, comma-separated URLs). */
    redis_cluster: z.boolean().default(false),
    /**
     * How long one Redis command may take before the store counts as unavailable (and the fail mode
     * decides). Redis answers in well under a millisecond; a stall this long means trouble.
     */
    redis_timeout_ms: z.number().int().positive().default(100),
    /**
     * Rate limits. `key` applies to each gateway key without limits of its own and to each BYOK
     * provider key (by fingerprint); `user` to each distinct x-watchllm-user; `project` to each project;
     * `models` to each model matching the glob.
     */
    limits: z
      .object({
        /** What a Redis outage means: open = serve uncounted (and count the miss), closed = 503. */
        fail_mode: z.enum(['open', 'closed']).default('open'),
        key: limitSetSchema.optional(),
        user: limitSetSchema.optional(),
        project: limitSetSchema.optional(),
        models: z.record(z.string(), limitSetSchema).default({}),
      })
      .strict()
      .prefault({}),
    /** Budgets in USD. Keys carry their own (`budget:`); these apply per user and per project. */
    budgets: z
      .object({
        user: budgetConfigSchema.optional(),
        project: budgetConfigSchema.optional(),
        projects: z.record(z.string(), budgetConfigSchema).default({}),
        /** Share of a budget at which calls are flagged (soft threshold, for alerts). */
        soft_threshold: z.number().min(0).max(1).default(0.8),
        /** End a stream cleanly once its budget is crossed (else it finishes and the overrun is settled). */
        strict: z.boolean().default(false),
        /** Output tokens assumed for the reservation when a request sets no max_tokens. */
        default_max_tokens: z.number().int().positive().default(4096),
      })
      .strict()
      .prefault({}),
    /** Exact-match response cache. Off unless enabled here, per key, or per request (x-watchllm-cache: on). */
    cache: z
      .object({
        enabled: z.boolean().default(false),
        ttl_seconds: z.number().int().positive().default(3600),
        /** Also cache requests with temperature > 0 or n > 1. */
        allow_nondeterministic: z.boolean().default(false),
        /** In-process cache bounds (Redis is bounded by its own maxmemory policy). */
        max_entries: z.number().int().positive().default(10_000),
        max_mb: z.number().positive().default(256),
      })
      .strict()
      .prefault({}),
    /**
     * Retries of a model whose provider fails in a way that passes (unreachable, timed out, 429,
     * 5xx, 529), before any fallback. Off by default: SDKs retry on their own.
     */
    retries: z
      .object({
        /** tries after the first, per model; x-watchllm-retries overrides it per call */
        attempts: z.number().int().min(0).max(5).default(0),
        /** the most x-watchllm-retries may ask for */
        max_per_call: z.number().int().min(0).max(5).default(3),
        /** the first wait, doubled on each retry of a model (with jitter) */
        backoff_ms: z.number().int().min(0).max(60_000).default(500),
        /** the longest wait, a provider's retry-after included; one asking for longer is not retried */
        max_wait_ms: z.number().int().min(0).max(300_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /**
     * Models to try, in order, when a call's provider fails before answering (unreachable, timed
     * out, 429, 5xx): keyed by the model as clients name it (a glob may stand for several).
     */
    fallbacks: z
      .record(
        z.string().min(1),
        // one model may be written without the brackets
        z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string().min(1).max(256)).min(1).max(5)),
      )
      .default({}),
    /**
     * Names clients may send for a model (`fast: anthropic/claude-haiku-4-5`): routed as the model,
     * recorded as the name. Matched in any case.
     */
    aliases: z.record(z.string().min(1).max(256), z.string().min(1).max(256)).default({}),
    /**
     * Load balancing: calls for a model (as clients name it, or a glob) spread over targets by
     * weight (smooth weighted round-robin); the targets not picked follow as fallbacks.
     */
    balance: z
      .record(
        z.string().min(1),
        z.array(z.object({ model: z.string().min(1).max(256), weight: z.number().positive().default(1) }).strict()).min(2).max(10),
      )
      .default({}),
    /** Price overrides, USD per 1M tokens, keyed `provider/model`. Validated by the pricing module. */
    prices: z.record(z.string(), z.unknown()).default({}),
    /** Policies, validated by @watchllm/policies (see README). Hot-reloaded from their file. */
    policies: z.array(z.unknown()).default([]),
    /** A separate policies file (root `policies:`), instead of the section above. WATCHLLM_POLICIES. */
    policies_file: z.string().optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
