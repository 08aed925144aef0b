/**
 * Numbered schema migrations. `{db}` stands for the database (validated identifier, see
 * client.ts). Every statement is idempotent (`IF NOT EXISTS`) so that several replicas starting at
 * once can all run them; `schema_migrations` records what ran, for humans and for skipping.
 * Append new migrations; never edit a shipped one.
 *
 * Replays: each writer batch is inserted with an `insert_deduplication_token`, and MergeTree
 * tables remember the last `non_replicated_deduplication_window` tokens, so a batch replayed from
 * the spool after an insert that did land is dropped by ClickHouse. The rollup `requests_1m` needs
 * the same window (migration 8): the view passes the replayed block on with a token derived from
 * the batch's, and only a target table that remembers tokens drops it; the writer also sends
 * `deduplicate_blocks_in_dependent_materialized_views = 1`, off by default on some server versions
 * (24.7 to 25.x). `ReplacingMergeTree` keyed on (project, ts, request_id) is a backstop for a
 * replay older than that window: merges collapse the duplicate, and `SELECT ... FINAL` hides it.
 * https://clickhouse.com/docs/operations/settings/settings#insert_deduplication_token
 */
export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

const DEDUP = 'non_replicated_deduplication_window = 10000';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'requests',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.requests (
        request_id String,
        ts DateTime64(3, 'UTC'),
        project LowCardinality(String),
        key_id String,
        key_fingerprint String,
        user String,
        session String,
        properties Map(String, String),
        surface LowCardinality(String),
        endpoint LowCardinality(String),
        provider LowCardinality(String),
        model LowCardinality(String),
        upstream_model LowCardinality(String),
        stream Bool,
        status_code UInt16,
        outcome LowCardinality(String),
        error_type LowCardinality(String),
        error_message String,
        cache_status LowCardinality(String),
        policy_outcome LowCardinality(String),
        policy_matches String,
        limit_decision LowCardinality(String),
        prompt_tokens UInt32,
        completion_tokens UInt32,
        cached_tokens UInt32,
        cache_write_tokens UInt32,
        reasoning_tokens UInt32,
        usage_source LowCardinality(String),
        cost_usd Nullable(Float64),
        priced Bool,
        cost_saved_usd Nullable(Float64),
        latency_ms Float64,
        ttft_ms Nullable(Float64),
        upstream_ms Nullable(Float64),
        finish_reason LowCardinality(String),
        request_bytes UInt32,
        response_bytes UInt32,
        request_body String CODEC(ZSTD(3)),
        response_body String CODEC(ZSTD(3)),
        client_ip String,
        user_agent String,
        INDEX idx_request_id request_id TYPE bloom_filter GRANULARITY 4,
        INDEX idx_key_id key_id TYPE bloom_filter GRANULARITY 4,
        INDEX idx_user user TYPE bloom_filter GRANULARITY 4,
        INDEX idx_session session TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(ts)
      ORDER BY (project, ts, request_id)
      SETTINGS ${DEDUP}`,
    ],
  },
  {
    version: 2,
    name: 'requests_1m rollup',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.requests_1m (
        minute DateTime('UTC'),
        project LowCardinality(String),
        model LowCardinality(String),
        provider LowCardinality(String),
        key_id String,
        requests SimpleAggregateFunction(sum, UInt64),
        errors SimpleAggregateFunction(sum, UInt64),
        prompt_tokens SimpleAggregateFunction(sum, UInt64),
        completion_tokens SimpleAggregateFunction(sum, UInt64),
        cached_tokens SimpleAggregateFunction(sum, UInt64),
        reasoning_tokens SimpleAggregateFunction(sum, UInt64),
        cost_usd SimpleAggregateFunction(sum, Float64),
        unpriced SimpleAggregateFunction(sum, UInt64),
        latency_ms AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
        ttft_ms AggregateFunction(quantiles(0.5, 0.95), Nullable(Float64))
      )
      ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(minute)
      ORDER BY (project, minute, model, provider, key_id)`,
      // errors: anything that did not give the client an answer (cache hits are answers).
      // Source columns are qualified (r.) because the output aliases reuse their names.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.requests_1m_mv TO {db}.requests_1m AS
      SELECT
        toDateTime(toStartOfMinute(r.ts), 'UTC') AS minute,
        r.project AS project, r.model AS model, r.provider AS provider, r.key_id AS key_id,
        count() AS requests,
        countIf(r.outcome NOT IN ('success', 'cache_hit')) AS errors,
        sum(toUInt64(r.prompt_tokens)) AS prompt_tokens,
        sum(toUInt64(r.completion_tokens)) AS completion_tokens,
        sum(toUInt64(r.cached_tokens)) AS cached_tokens,
        sum(toUInt64(r.reasoning_tokens)) AS reasoning_tokens,
        sum(ifNull(r.cost_usd, 0)) AS cost_usd,
        countIf(NOT r.priced AND r.prompt_tokens + r.completion_tokens > 0) AS unpriced,
        quantilesState(0.5, 0.95, 0.99)(r.latency_ms) AS latency_ms,
        quantilesState(0.5, 0.95)(r.ttft_ms) AS ttft_ms
      FROM {db}.requests AS r
      GROUP BY minute, project, model, provider, key_id`,
    ],
  },
  {
    version: 3,
    name: 'events',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.events (
        event_id String,
        ts DateTime64(3, 'UTC'),
        received_at DateTime64(3, 'UTC'),
        type LowCardinality(String),
        name String,
        project LowCardinality(String),
        key_id String,
        trace_id String,
        span_id String,
        parent_id String,
        session String,
        request_id String,
        user String,
        message String,
        score Nullable(Float64),
        duration_ms Nullable(Float64),
        properties Map(String, String),
        payload String CODEC(ZSTD(3)),
        INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4,
        INDEX idx_session session TYPE bloom_filter GRANULARITY 4,
        INDEX idx_request_id request_id TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(ts)
      ORDER BY (project, ts, event_id)
      SETTINGS ${DEDUP}`,
    ],
  },
  {
    version: 4,
    name: 'requests: the refusing limit and soft budget thresholds',
    statements: [
      // JSON text like policy_matches: {"scope","id","kind","window"} of the limit or budget that
      // refused the call, and [{...,"ratio"}] of budgets at or over the soft threshold.
      `ALTER TABLE {db}.requests
        ADD COLUMN IF NOT EXISTS limit_refused String AFTER limit_decision,
        ADD COLUMN IF NOT EXISTS budget_soft String AFTER limit_refused`,
    ],
  },
  {
    version: 5,
    name: "requests: the gateway key's name",
    statements: [
      // the key's name (`ci`, `billing-bot`) beside its id, so dashboards and the console can say it
      `ALTER TABLE {db}.requests ADD COLUMN IF NOT EXISTS key_name String AFTER key_id`,
    ],
  },
  {
    version: 6,
    name: 'requests: fallback attempts',
    statements: [
      // the models tried before the one that answered (or failed last): `provider/model: why`
      `ALTER TABLE {db}.requests ADD COLUMN IF NOT EXISTS attempts Array(String) AFTER upstream_model`,
    ],
  },
  {
    version: 7,
    name: 'requests: trace and calling span',
    statements: [
      // what links a call to the spans and events its app reports (events.trace_id / span_id)
      `ALTER TABLE {db}.requests
        ADD COLUMN IF NOT EXISTS trace_id String AFTER session,
        ADD COLUMN IF NOT EXISTS span_id String AFTER trace_id`,
      `ALTER TABLE {db}.requests ADD INDEX IF NOT EXISTS idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4`,
    ],
  },
  {
    version: 8,
    name: 'requests_1m: deduplicate replayed batches',
    statements: [
      // A replay whose first insert landed (its acknowledgement lost) is dropped by `requests`, but
      // the view still sends its block on to the rollup (deduplicate_blocks_in_dependent_materialized_views),
      // and only a table that remembers tokens drops it there: without this setting the rollup
      // counted such a batch twice. A MergeTree setting, the same on a server as embedded.
      `ALTER TABLE {db}.requests_1m MODIFY SETTING ${DEDUP}`,
    ],
  },
];

/** Tables that follow the retention setting (rollups are small and kept). */
export const RETAINED_TABLES = ['requests', 'events'] as const;
