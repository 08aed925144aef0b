import { Hono } from 'hono';
import { deadline } from '../deadline.ts';
import type { Metrics } from '../metrics.ts';

/**
 * A store the gateway depends on. /readyz answers 503 while a *critical* check fails; a non-critical
 * one (ClickHouse: events spool to disk; Redis with fail_mode open) is reported as degraded, because
 * taking every replica out of the load balancer during such an outage would stop traffic that the
 * gateway can still serve.
 */
export interface ReadinessCheck {
  name: string;
  critical: boolean;
  check(): Promise<void>;
}

/** How long /readyz waits for one check. */
const CHECK_TIMEOUT_MS = 2000;
const checkTimedOut = (): Error => new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`);

export function opsRoutes(opts: { metrics: Metrics; checks: ReadonlyArray<ReadinessCheck>; draining: () => boolean }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (opts.draining()) return c.json({ status: 'draining' }, 503);
    const results = await Promise.all(
      opts.checks.map(async (chk) => {
        try {
          await deadline(chk.check(), CHECK_TIMEOUT_MS, checkTimedOut);
          return [chk, 'ok'] as const;
        } catch (e) {
          return [chk, e instanceof Error ? e.message : String(e)] as const;
        }
      }),
    );
    const failing = results.filter(([, r]) => r !== 'ok');
    const status = failing.some(([chk]) => chk.critical) ? 'unavailable' : failing.length > 0 ? 'degraded' : 'ok';
    const checks = Object.fromEntries(results.map(([chk, r]) => [chk.name, r]));
    return c.json({ status, checks }, status === 'unavailable' ? 503 : 200);
  });
  app.get('/metrics', async (c) => {
    c.header('content-type', opts.metrics.registry.contentType);
    return c.body(await opts.metrics.registry.metrics());
  });
  return app;
}
