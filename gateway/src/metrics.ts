import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { durations, type Exchange } from './exchange.ts';
import type { StoreHealth } from './stores/index.ts';

/** Prometheus metrics (text format at GET /metrics). Labels stay low-cardinality: no user or key ids. */
/** Distinct model names that get series of their own (see Metrics.modelLabel). */
export const MAX_MODEL_LABELS = 200;

/**
 * What kind of upstream failure a call was: `timeout`, `upstream_unreachable`, `stream_cut` (a stream
 * cut after its 200), `stream_error` (the provider's error event in a stream), `bad_response` (a
 * redirect, an empty or broken body), or the provider's HTTP status.
 */
function upstreamErrorKind(x: Exchange): string {
  if (x.outcome !== 'upstream_error') return x.outcome;
  if (x.error?.type === 'upstream_stream_cut') return 'stream_cut';
  if (x.error?.type === 'bad_upstream_response') return 'bad_response';
  if (x.upstream.status !== null && x.upstream.status >= 400) return String(x.upstream.status);
  return 'stream_error';
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'watchllm_requests_total',
    help: 'Calls handled, by endpoint, provider, status code and outcome.',
    labelNames: ['endpoint', 'provider', 'status', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'watchllm_request_duration_seconds',
    help: 'Time from request arrival to the last byte sent.',
    labelNames: ['endpoint', 'provider'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly ttft = new Histogram({
    name: 'watchllm_time_to_first_token_seconds',
    help: 'Time from request arrival to the first streamed byte sent to the client.',
    labelNames: ['provider'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly overhead = new Histogram({
    name: 'watchllm_gateway_overhead_seconds',
    help: 'Time spent in the gateway itself (total minus upstream).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'watchllm_upstream_errors_total',
    help: 'Provider errors, timeouts, unreachable hosts and cut streams (those a retry or fallback rescued too).',
    labelNames: ['provider', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly fallbacks = new Counter({
    name: 'watchllm_fallbacks_total',
    help: 'Models of fallback chains that did not answer: failed (the provider was called), or skipped.',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'watchllm_retries_total',
    help: 'Tries of a model that failed and were retried on the same model (retries).',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'watchllm_tokens_total',
    help: 'Tokens by provider, model and type (prompt, completion, cached, cache_write, reasoning).',
    labelNames: ['provider', 'model', 'type'] as const,
    registers: [this.registry],
  });
  private readonly cost = new Counter({
    name: 'watchllm_cost_usd_total',
    help: 'Cost in USD of priced calls.',
    labelNames: ['provider', 'model'] as const,
    registers: [this.registry],
  });
  private readonly unpriced = new Counter({
    name: 'watchllm_unpriced_calls_total',
    help: 'Calls with usage but no known price (recorded as unpriced, never as $0).',
    labelNames: ['provider', 'model'] as const,
    registers: [this.registry],
  });
  readonly inFlightStreams = new Gauge({
    name: 'watchllm_streams_in_flight',
    help: 'Streams being relayed right now.',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'watchllm_requests_in_flight',
    help: 'Calls being handled right now.',
    registers: [this.registry],
  });

  private readonly cacheResults = new Counter({
    name: 'watchllm_cache_requests_total',
    help: 'Cache lookups by result (hit, miss, bypass).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly cacheSaved = new Counter({
    name: 'watchllm_cache_saved_usd_total',
    help: 'What cache hits would have cost at the provider.',
    registers: [this.registry],
  });
  private readonly limitDenied = new Counter({
    name: 'watchllm_limit_denied_total',
    help: 'Calls refused by a rate limit or budget, by scope and kind.',
    labelNames: ['scope', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly budgetSoft = new Counter({
    name: 'watchllm_budget_soft_threshold_total',
    help: 'Calls admitted with a budget at or over its soft threshold (alert on its rate).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });

  /** Store outages (Redis down or slow) counted by the fail-mode wrappers. */
  watchStores(health: StoreHealth): void {
    new Counter({
      name: 'watchllm_store_misses_total',
      help: 'Store calls that could not be served (Redis unavailable): admitted uncounted or refused, per fail mode.',
      labelNames: ['store'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [store, n] of Object.entries(health.misses())) this.inc({ store }, n);
      },
    });
  }

  /** Policy file reloads, so an alert can fire on a rejected file (the old policies stay in force). */
  watchPolicies(source: { reloads: { ok: number; failed: number } }): void {
    new Counter({
      name: 'watchllm_policy_reloads_total',
      help: 'Policy file reloads by result (failed: the file was rejected and the previous policies kept).',
      labelNames: ['result'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ result: 'ok' }, source.reloads.ok);
        this.inc({ result: 'failed' }, source.reloads.failed);
      },
    });
  }

  /** Model names seen as label values so far (bounded: see modelLabel). */
  private readonly models = new Set<string>();

  /**
   * A model name as a label value: the first MAX_MODEL_LABELS distinct names keep their own series,
   * later ones share `other`. The name comes from the client (any string a permissive host accepts,
   * in any case), so without a bound each one would be a new series.
   */
  private modelLabel(model: string): string {
    const name = model.toLowerCase();
    if (this.models.has(name)) return name;
    if (this.models.size >= MAX_MODEL_LABELS) return 'other';
    this.models.add(name);
    return name;
  }

  observe(x: Exchange): void {
    if (x.cache) this.cacheResults.inc({ result: x.cache.status });
    if (x.cache?.savedUsd) this.cacheSaved.inc(x.cache.savedUsd);
    const refused = x.limits?.refused;
    if (refused) this.limitDenied.inc({ scope: refused.scope, kind: refused.kind });
    for (const s of x.limits?.softThreshold ?? []) this.budgetSoft.inc({ scope: s.scope });
    const provider = x.route?.provider ?? 'none';
    const d = durations(x);
    this.requests.inc({ endpoint: x.endpoint, provider, status: String(x.response.status), outcome: x.outcome });
    this.latency.observe({ endpoint: x.endpoint, provider }, d.latencyMs / 1000);
    // A stream's TTFT is its first token (durations): none for one that failed before any (a 504).
    if (x.request.stream && d.ttftMs !== null) this.ttft.observe({ provider }, d.ttftMs / 1000);
    if (d.upstreamMs !== null && x.response.firstByteAt !== null && !x.request.stream) {
      this.overhead.observe(Math.max(0, d.latencyMs - d.upstreamMs) / 1000);
    }
    if (x.outcome === 'upstream_error' || x.outcome === 'timeout' || x.outcome === 'upstream_unreachable') {
      this.upstreamErrors.inc({ provider, kind: upstreamErrorKind(x) });
    }
    for (const a of x.attempts) {
      if (a.result === 'retried') this.retries.inc({ provider: a.provider ?? 'none' });
      // a try abandoned during a retry's wait moved on to no other model
      else if (!a.abandoned) this.fallbacks.inc({ provider: a.provider ?? 'none', result: a.result });
      // a provider's failure counts whether or not a retry or fallback rescued the call (the call's own is counted above)
      if (a.result !== 'skipped' && a.kind && a.provider && !a.own) this.upstreamErrors.inc({ provider: a.provider, kind: a.kind });
    }
    const u = x.response.usage;
    if (u && x.route && x.outcome !== 'cache_hit') {
      const model = this.modelLabel(x.route.model);
      this.tokens.inc({ provider, model, type: 'prompt' }, u.promptTokens);
      this.tokens.inc({ provider, model, type: 'completion' }, u.completionTokens);
      if (u.cachedTokens) this.tokens.inc({ provider, model, type: 'cached' }, u.cachedTokens);
      if (u.cacheWriteTokens) this.tokens.inc({ provider, model, type: 'cache_write' }, u.cacheWriteTokens);
      if (u.reasoningTokens) this.tokens.inc({ provider, model, type: 'reasoning' }, u.reasoningTokens);
      if (x.costUsd !== null) this.cost.inc({ provider, model }, x.costUsd);
      else this.unpriced.inc({ provider, model });
    }
  }
}
