import type { PriceOverrides } from '@watchllm/providers';
import type { PolicySource } from './config/policies.ts';
import type { Config } from './config/schema.ts';
import type { EventSink } from './exchange.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Registry } from './registry.ts';
import type { Stores } from './stores/index.ts';
import type { SettleBatcher } from './pipeline/settle-batch.ts';
import type { CompiledFallbacks } from './pipeline/fallback.ts';
import type { Balancer } from './pipeline/balance.ts';
import type { Upstream } from './upstream.ts';
import { GatewayShutdown } from './errors.ts';

/** Everything a request needs, built once at start (server.ts) and passed down explicitly. */
export interface Deps {
  config: Config;
  registry: Registry;
  /** Limits, budgets, cache and gateway keys: in process, or shared through Redis. */
  stores: Stores;
  /** Limit settlements of finished calls, sent in small batches. */
  settles: SettleBatcher;
  /** Per-model limits from config, globs compiled once. */
  modelLimits: ReadonlyArray<{ pattern: RegExp; limits: { rpm?: number | undefined; tpm?: number | undefined; tpd?: number | undefined } }>;
  /** Fallback chains from config, globs compiled once. */
  fallbacks: CompiledFallbacks;
  /** Load balancing from config, with each group's rotation. */
  balancer: Balancer;
  upstream: Upstream;
  /** Policies in force, hot-reloaded from their file. */
  policies: PolicySource;
  metrics: Metrics;
  sink: EventSink;
  log: Logger;
  prices: PriceOverrides | undefined;
  maxBodyBytes: number;
  /** Whether answer bodies are kept on exchanges (the event sink stores them). */
  keepBodies: boolean;
  inFlight: InFlight;
}

/** Calls in progress, so SIGTERM can wait for them (and abort the stragglers). */
export class InFlight {
  private readonly calls = new Set<AbortController>();
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.calls.size;
  }
  add(c: AbortController): void {
    this.calls.add(c);
  }
  delete(c: AbortController): void {
    this.calls.delete(c);
    if (this.calls.size === 0) {
      for (const w of this.waiters) w();
      this.waiters = [];
    }
  }
  /** Resolves when no call is in flight, or after `ms`; returns how many were still running. */
  async drain(ms: number): Promise<number> {
    if (this.calls.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const left = this.calls.size;
    // With a reason of its own, so each call can say it was the gateway's shutdown, not the provider.
    for (const c of this.calls) c.abort(new GatewayShutdown());
    return left;
  }
}
