import { Hono } from 'hono';
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

export function opsRoutes(opts: { metrics: Metrics; checks: ReadonlyArray<ReadinessCheck>; draining: () => boolean }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (opts.draining()) return c.json({ status: 'draining' }, 503);
    const results = await Promise.all(
      opts.checks.map(async (chk) => {
        try {
          await withTimeout(chk.check(), 2000);
          return [chk, 'ok'] as const;
        } catch (e) {
          return [chk, e instanceof Error ? e.message : 'failed'] as const;
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

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
