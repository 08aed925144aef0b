import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { PriceOverrides } from '@watchllm/providers';
import { createApp } from './app.ts';
import type { Config } from './config/schema.ts';
import { InFlight, type Deps } from './deps.ts';
import { nullSink, type EventSink } from './exchange.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { configKeyResolver, type KeyResolver } from './pipeline/identify.ts';
import { buildRegistry } from './registry.ts';
import type { ReadinessCheck } from './routes/ops.ts';
import { createUpstream } from './upstream.ts';

export interface GatewayOptions {
  config: Config;
  log?: Logger;
  sink?: EventSink;
  keys?: KeyResolver;
  checks?: ReadinessCheck[];
}

export interface Gateway {
  deps: Deps;
  server: Server;
  /** Starts listening; resolves with the base URL (http://host:port). */
  listen(): Promise<string>;
  /** Graceful stop: refuse new connections, let in-flight calls finish (bounded), flush events. */
  close(): Promise<void>;
}

export function createGateway(opts: GatewayOptions): Gateway {
  const { config } = opts;
  const log = opts.log ?? createLogger();
  const metrics = new Metrics();
  const deps: Deps = {
    config,
    registry: buildRegistry(config),
    keys: opts.keys ?? configKeyResolver(config.keys),
    upstream: createUpstream({
      headersTimeoutMs: config.server.upstream_timeout_ms,
      bodyTimeoutMs: config.server.stream_idle_timeout_ms,
    }),
    metrics,
    sink: opts.sink ?? nullSink,
    log,
    prices: Object.keys(config.prices).length > 0 ? (config.prices as PriceOverrides) : undefined,
    maxBodyBytes: Math.floor(config.server.max_body_mb * 1024 * 1024),
    inFlight: new InFlight(),
  };
  let draining = false;
  const app = createApp(deps, { checks: opts.checks ?? [], draining: () => draining });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  // Long generations: never let Node's request timeout cut a slow stream (the upstream timeouts bound it).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  return {
    deps,
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.server.port, config.server.host, () => {
          const a = server.address() as AddressInfo;
          const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          resolve(`http://${host}:${a.port}`);
        });
      }),
    async close() {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const left = await deps.inFlight.drain(config.server.shutdown_grace_ms);
      if (left > 0) log.warn({ aborted: left }, 'shutdown grace period over; aborted calls still in flight');
      server.closeAllConnections();
      await closed;
      await deps.sink.close();
      await deps.upstream.close();
    },
  };
}
