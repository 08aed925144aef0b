import { Hono } from 'hono';
import type { Metrics } from '../metrics.ts';

/** A store the gateway depends on; /readyz answers 503 while any check fails. */
export interface ReadinessCheck {
  name: string;
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
          return [chk.name, 'ok'] as const;
        } catch (e) {
          return [chk.name, e instanceof Error ? e.message : 'failed'] as const;
        }
      }),
    );
    const ok = results.every(([, r]) => r === 'ok');
    return c.json({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) }, ok ? 200 : 503);
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
