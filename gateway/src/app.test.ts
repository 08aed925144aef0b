import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from './app.ts';
import { parseConfig } from './config/load.ts';
import type { ClickHouseClient, EventWriter } from './events/index.ts';
import { nullSink } from './exchange.ts';
import { createGateway, type Gateway } from './server.ts';
import { StoreUnavailableError } from './stores/index.ts';

/**
 * The hono app as server.ts mounts it, with the event store stubbed out: the answers of /v1/events and
 * /admin/* without a ClickHouse behind them (test/e2e covers the proxy and ops routes end to end).
 */

const ADMIN = 'admin-token-0123456789';
const GATEWAY_KEY = 'wl_app_0123456789abcdefghijklmnopqrstuv';
let g: Gateway;
const logged: Array<Record<string, unknown>> = [];
let recordEvents: (rows: readonly object[]) => number = (rows) => rows.length;

beforeAll(async () => {
  const config = parseConfig(`keys:\n  - name: app\n    project: acme\n    key: ${GATEWAY_KEY}\n`, {
    PORT: '0',
    WATCHLLM_ADMIN_TOKEN: ADMIN,
    WATCHLLM_EVENTS: 'off',
    WATCHLLM_DATA_DIR: mkdtempSync(join(tmpdir(), 'watchllm-app-')),
  });
  g = await createGateway({ config, sink: nullSink, log: { info() {}, warn() {}, error: (fields) => void logged.push(fields) } });
});
afterAll(() => g.close());

const app = () =>
  createApp(g.deps, {
    checks: [],
    draining: () => false,
    events: { client: {} as ClickHouseClient, writer: { recordEvents: (rows) => recordEvents(rows) } as EventWriter },
  });

const ingest = (body: string, auth: string | null = GATEWAY_KEY) =>
  app().request('/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body,
  });

describe('x-watchllm-request-id on every answer of the app', () => {
  test.each([
    ['accepted events', () => ingest('{"events":[{"type":"custom","name":"x"}]}'), 202],
    ['a body that is not JSON', () => ingest('{'), 400],
    ['no credentials', () => ingest('{"events":[]}', null), 401],
    ['the admin API', () => app().request('/admin/keys', { headers: { authorization: `Bearer ${ADMIN}` } }), 200],
    ['the admin API without its token', () => app().request('/admin/keys'), 401],
  ] as const)('%s', async (_name, call, status) => {
    const r = await call();
    expect(r.status).toBe(status);
    expect(r.headers.get('x-watchllm-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a route that fails answers 500 with the request id it is logged under', async () => {
    recordEvents = () => {
      throw new Error('writer broke');
    };
    try {
      const r = await ingest('{"events":[{"type":"custom","name":"x"}]}');
      expect(r.status).toBe(500);
      expect(await r.json()).toMatchObject({ error: { code: 'internal_error' } });
      const id = r.headers.get('x-watchllm-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(logged.at(-1)).toMatchObject({ requestId: id, path: '/v1/events' });
    } finally {
      recordEvents = (rows) => rows.length;
    }
  });
});

describe('a key store outage behind /v1/events', () => {
  test('a gateway key that cannot be looked up gets 503 keys_unavailable with retry-after, not a 500', async () => {
    const keys = g.deps.stores.keys;
    const lookup = keys.lookup;
    keys.lookup = async () => {
      throw new StoreUnavailableError('keys', new Error('Command timed out'));
    };
    const before = logged.length;
    try {
      const r = await ingest('{"events":[{"type":"custom","name":"x"}]}');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(await r.json()).toMatchObject({ error: { code: 'keys_unavailable' } });
      // an outage, not a bug: no "unhandled route error" line
      expect(logged.length).toBe(before);
    } finally {
      keys.lookup = lookup;
    }
  });
});

describe('a known path with the wrong method', () => {
  test('the admin API answers 405 with the methods the path takes, behind the admin token', async () => {
    const r = await app().request('/admin/keys', { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'POST']);
    expect(await r.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    // Without the token nothing about the admin routes is revealed.
    expect((await app().request('/admin/keys', { method: 'DELETE' })).status).toBe(401);
  });

  test('GET /v1/events is a 405, not a 404', async () => {
    const r = await app().request('/v1/events', { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
  });
});
