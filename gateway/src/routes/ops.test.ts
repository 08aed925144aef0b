import { describe, expect, test } from 'vitest';
import { Metrics } from '../metrics.ts';
import { opsRoutes, type ReadinessCheck } from './ops.ts';

const ok = (name: string, critical: boolean): ReadinessCheck => ({ name, critical, check: async () => {} });
const down = (name: string, critical: boolean): ReadinessCheck => ({
  name,
  critical,
  check: async () => {
    throw new Error('connect ECONNREFUSED');
  },
});

async function readyz(checks: ReadinessCheck[], draining = false) {
  const app = opsRoutes({ metrics: new Metrics(), checks, draining: () => draining });
  const r = await app.request('/readyz');
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('/readyz', () => {
  test('ready when every store answers', async () => {
    expect(await readyz([ok('redis', true), ok('clickhouse', false)])).toEqual({
      status: 200,
      body: { status: 'ok', checks: { redis: 'ok', clickhouse: 'ok' } },
    });
  });

  test('degraded but still ready when a store the gateway can do without is down (events spool to disk)', async () => {
    expect(await readyz([ok('redis', true), down('clickhouse', false)])).toEqual({
      status: 200,
      body: { status: 'degraded', checks: { redis: 'ok', clickhouse: 'connect ECONNREFUSED' } },
    });
  });

  test('unavailable when a critical store is down (Redis with fail_mode closed)', async () => {
    const r = await readyz([down('redis', true), ok('clickhouse', false)]);
    expect(r).toMatchObject({ status: 503, body: { status: 'unavailable' } });
  });

  test('unavailable while draining on shutdown', async () => {
    expect(await readyz([ok('redis', true)], true)).toEqual({ status: 503, body: { status: 'draining' } });
  });
});
