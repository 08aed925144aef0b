import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { priceOverrideSchema } from '@watchllm/providers';
import { createApp } from './app.ts';
import { ConfigError } from './config/load.ts';
import { PolicySource } from './config/policies.ts';
import { parsePolicies } from '@watchllm/policies';
import type { Config } from './config/schema.ts';
import { InFlight, type Deps } from './deps.ts';
import { withConsole } from './console.ts';
import {
  createClickHouse,
  storeCrashes,
  databaseOf,
  createEventWriter,
  migrateAtStart,
  registerWriterMetrics,
  writerOptionsFor,
  type ClickHouseClient,
  type EventWriter,
} from './events/index.ts';
import { nullSink, type EventSink } from './exchange.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { compileModelLimits } from './pipeline/limits.ts';
import { compileFallbacks } from './pipeline/fallback.ts';
import { Balancer } from './pipeline/balance.ts';
import { SettleBatcher } from './pipeline/settle-batch.ts';
import { buildRegistry } from './registry.ts';
import type { ReadinessCheck } from './routes/ops.ts';
import { proxyListener } from './routes/proxy.ts';
import { seedConfigKeys } from './seed-keys.ts';
import { createStores, type Stores } from './stores/index.ts';
import { withFile } from './stores/keys/file.ts';
import { join } from 'node:path';
import { SignInThrottle } from './sign-in-throttle.ts';
import { createUpstream } from './upstream.ts';

export interface GatewayOptions {
  config: Config;
  log?: Logger;
  /** Replaces the ClickHouse event writer (tests that read exchanges directly). */
  sink?: EventSink;
  /** Replaces the stores built from config. */
  stores?: Stores;
  /** The watchllm.yaml path: its `policies:` section is hot-reloaded (main.ts passes WATCHLLM_CONFIG). */
  configPath?: string;
}

export interface Gateway {
  deps: Deps;
  server: Server;
  /** The event store, when events are recorded in ClickHouse. */
  events: { client: ClickHouseClient; writer: EventWriter } | null;
  /** Starts listening; resolves with the base URL (http://host:port). */
  listen(): Promise<string>;
  /** Graceful stop: refuse new connections, let in-flight calls finish (bounded), flush events. */
  close(): Promise<void>;
}

/**
 * Builds a gateway from config: stores (in process, or Redis), the event store (embedded chDB, or a
 * ClickHouse server), then the HTTP server. Nothing listens until `listen()`.
 */
/** Policies from their own file, else from watchllm.yaml's section (read from the file, for line numbers). */
function loadPolicies(config: Config, configPath: string | undefined): PolicySource {
  if (config.policies_file) return PolicySource.fromFile(config.policies_file);
  if (configPath) return PolicySource.fromFile(configPath);
  if (config.policies.length === 0) return new PolicySource(null);
  const r = parsePolicies(config.policies);
  if (!r.ok) throw new ConfigError(r.issues.map((i) => `policies.${i.path.join('.')}: ${i.message}`).join('\n'));
  return new PolicySource(r.policies);
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config } = opts;
  const log = opts.log ?? createLogger();
  const metrics = new Metrics();
  const prices = priceOverrideSchema.safeParse(config.prices);
  if (!prices.success) throw new ConfigError(`prices: ${prices.error.issues[0]?.message ?? 'invalid'}`);

  const stores =
    opts.stores ??
    (await createStores({
      redisUrl: config.redis_url ?? null,
      redisCluster: config.redis_cluster,
      commandTimeoutMs: config.redis_timeout_ms,
      failMode: config.limits.fail_mode,
      secret: config.secret ?? null,
      cache: { maxEntries: config.cache.max_entries, maxBytes: Math.floor(config.cache.max_mb * 1024 * 1024) },
      log: (m) => log.warn({}, m),
    }));
  // One process without Redis: keys created through the admin API are kept under the data dir.
  if (!opts.stores && !stores.redis) stores.keys = await withFile(stores.keys, join(config.data_dir, 'keys.json'));
  // Keys from watchllm.yaml go into the (possibly shared) key store, again on every Redis reconnect:
  // a Redis restarted without persistence must not forget them.
  await seedConfigKeys(stores.keys, config.keys).catch((e: unknown) => {
    if (!stores.redis) throw e;
    log.warn({ err: e }, 'could not seed configured keys into Redis yet; retrying when it is back');
  });
  stores.redis?.on('ready', () => {
    seedConfigKeys(stores.keys, config.keys).catch((e: unknown) => log.warn({ err: e }, 'seeding configured keys failed'));
  });
  metrics.watchStores(stores.health);

  let events: Gateway['events'] = null;
  let stopMigrating = () => {};
  let sink = opts.sink;
  if (!sink && config.events.enabled) {
    const client = createClickHouse({
      url: config.events.clickhouse_url,
      dataDir: config.data_dir,
      onStoreExit: (how) => log.error({ component: 'events', exit: how }, 'the embedded events store process exited; starting it again (events are kept and written once it is back)'),
    });
    // A ClickHouse that is down at start (restart during an outage) does not stop the proxy; the
    // writer inserts nothing before the migrations have run (it spools meanwhile).
    const migrations = await migrateAtStart(client, { retentionDays: config.events.retention_days, log });
    stopMigrating = migrations.stop;
    const writer = createEventWriter({ client, dataDir: config.data_dir, ...writerOptionsFor(config.events), schemaReady: migrations.applied, logger: log });
    registerWriterMetrics(metrics.registry, writer, { crashes: () => storeCrashes(client) });
    events = { client, writer };
    sink = writer;
  }

  const policies = loadPolicies(config, opts.configPath);
  const policyFile = config.policies_file ?? opts.configPath;
  if (policyFile) policies.watch(policyFile, log);
  metrics.watchPolicies(policies);

  const deps: Deps = {
    policies,
    config,
    registry: buildRegistry(config),
    stores,
    settles: new SettleBatcher(stores.limits, (e) => log.warn({ err: e }, 'settling limits failed')),
    modelLimits: compileModelLimits(config),
    fallbacks: compileFallbacks(config),
    balancer: new Balancer(config),
    upstream: createUpstream({
      headersTimeoutMs: config.server.upstream_timeout_ms,
      bodyTimeoutMs: config.server.stream_idle_timeout_ms,
      connections: config.server.upstream_max_connections,
    }),
    metrics,
    sink: sink ?? nullSink,
    log,
    prices: Object.keys(prices.data).length > 0 ? prices.data : undefined,
    maxBodyBytes: Math.floor(config.server.max_body_mb * 1024 * 1024),
    keepBodies: opts.sink !== undefined || (events !== null && config.events.store_bodies),
    inFlight: new InFlight(),
  };

  const checks: ReadinessCheck[] = [];
  if (stores.redis) {
    const redis = stores.redis;
    checks.push({ name: 'redis', critical: config.limits.fail_mode === 'closed', check: async () => void (await redis.ping()) });
  }
  if (events) {
    const client = events.client;
    checks.push({
      name: 'clickhouse',
      critical: false,
      check: async () => {
        const r = await client.ping();
        if (!r.success) throw r.error;
      },
    });
  }

  let draining = false;
  // wrong admin tokens per client address, at the admin API and the console's sign-in alike
  const signIns = new SignInThrottle();
  const app = createApp(deps, { checks, draining: () => draining, events, signIns });
  const rest = getRequestListener(app.fetch);
  // The console browses the events: without an event store there is nothing to show.
  const site =
    events && config.console.enabled
      ? withConsole(
          rest,
          { client: events.client, database: databaseOf(events.client), adminToken: config.admin_token, signIns },
          { log, trustedHops: config.server.trust_proxy },
        )
      : rest;
  const server = createServer(proxyListener(deps, site));
  // Long generations: never let Node's request timeout cut a slow stream (the upstream timeouts bound it).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  return {
    deps,
    server,
    events,
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
      // Still accepting calls, while /readyz says draining, until the load balancer has noticed.
      if (config.server.drain_delay_ms > 0 && server.listening) await new Promise((r) => setTimeout(r, config.server.drain_delay_ms));
      const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
      server.closeIdleConnections();
      const left = await deps.inFlight.drain(config.server.shutdown_grace_ms);
      if (left > 0) {
        log.warn({ aborted: left }, 'shutdown grace period over; aborted calls still in flight');
        // A moment for the aborted streams to write their gateway_shutdown error event before the
        // sockets are closed under them.
        await new Promise((r) => setTimeout(r, 100));
      }
      server.closeAllConnections();
      await closed;
      stopMigrating();
      await deps.settles.flush();
      // what Redis could not take during an outage stays unsent: the store closes next
      deps.settles.close();
      await deps.sink.close();
      if (events) await events.client.close();
      await deps.upstream.close();
      if (!opts.stores) await stores.close();
      policies.close();
    },
  };
}
