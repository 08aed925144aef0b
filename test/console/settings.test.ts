import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';
import { closedPort } from '../e2e/events-support.ts';
import { decode, get, postToken } from './support.ts';

/**
 * When the gateway serves no console, or a shut one. The event store is a ClickHouse URL nothing
 * listens on: these pages never read it, and the suite needs no chDB of its own.
 */

let shut: Stack;
let off: Stack;
let noEvents: Stack;

beforeAll(async () => {
  const ch = `http://default:@127.0.0.1:${await closedPort()}/watchllm`;
  [shut, off, noEvents] = await Promise.all([
    startStack({ clickhouse: true, env: { WATCHLLM_CLICKHOUSE_URL: ch } }),
    startStack({ clickhouse: true, env: { WATCHLLM_CLICKHOUSE_URL: ch, WATCHLLM_ADMIN_TOKEN: 'settings-admin-token-0123', WATCHLLM_CONSOLE: 'off' } }),
    startStack({ env: { WATCHLLM_EVENTS: 'off', WATCHLLM_ADMIN_TOKEN: 'settings-admin-token-0123' } }),
  ]);
});

afterAll(async () => {
  await Promise.all([shut?.close(), off?.close(), noEvents?.close()]);
});

test('without WATCHLLM_ADMIN_TOKEN the console stays shut and says how to open it', async () => {
  const page = await get(`${shut.url}/console/login`);
  expect(page.status).toBe(200);
  expect(decode(page.html.replace(/<[^>]*>/g, ''))).toContain('start the gateway with WATCHLLM_ADMIN_TOKEN set');
  expect((await get(`${shut.url}/console/`)).status).toBe(303);
  const res = await postToken(shut.url, '');
  expect(res.status).toBe(403);
  expect(res.headers.getSetCookie()).toEqual([]);
});

test('WATCHLLM_CONSOLE=off, or events off, leaves /console to the gateway: a 404 in the OpenAI shape', async () => {
  for (const s of [off, noEvents]) {
    const res = await fetch(`${s.url}/console/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_url');
  }
});
