import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startClickHouseFront, type ClickHouseFront } from '../clickhouse-front/index.ts';
import { startStack, type Stack } from '../e2e/harness.ts';
import { eventsOf, requestIdOf } from '../e2e/events-support.ts';
import { freePort } from '../support/ports.ts';
import { get, linkedRequestIds, signIn, testId } from './support.ts';

/**
 * The console deployed on its own at scale (`node console/build`), reading the ClickHouse server
 * the gateways write to (WATCHLLM_CLICKHOUSE_URL; here ClickHouse's HTTP interface over chDB),
 * configured only with the gateway's variables and adapter-node's, prefixed WATCHLLM_CONSOLE_.
 */

const TOKEN = 'standalone-admin-token-0123456789';
const BUILD = fileURLToPath(new URL('../../console/build/index.js', import.meta.url));
let root: string;
let front: ClickHouseFront;
let s: Stack;
let consoleProc: ChildProcess;
let consoleUrl: string;
let id: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'watchllm-console-'));
  front = await startClickHouseFront({ dataDir: join(root, 'clickhouse') });
  s = await startStack({ clickhouse: true, env: { WATCHLLM_CLICKHOUSE_URL: front.url, WATCHLLM_ADMIN_TOKEN: TOKEN } });
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-standalone', 'content-type': 'application/json', 'x-watchllm-user': 'carol' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'from the replica' }] }),
  });
  await res.arrayBuffer();
  id = requestIdOf(res.headers);
  await eventsOf(s.gateway).writer.flush();

  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}`;
  consoleProc = spawn(process.execPath, [BUILD], {
    env: {
      PATH: process.env['PATH'] ?? '',
      WATCHLLM_CLICKHOUSE_URL: front.url,
      WATCHLLM_ADMIN_TOKEN: TOKEN,
      WATCHLLM_CONSOLE_HOST: '127.0.0.1',
      WATCHLLM_CONSOLE_PORT: String(port),
      // served over plain http here; behind TLS this is the public https origin
      WATCHLLM_CONSOLE_ORIGIN: consoleUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${consoleUrl}/console/login`).then((r) => r.ok, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  consoleProc?.kill('SIGTERM');
  await s?.close();
  await front?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test("a console of its own shows the calls a gateway stored in the ClickHouse server", async () => {
  const cookie = await signIn(consoleUrl, TOKEN);
  const list = await get(`${consoleUrl}/console/requests?range=all&user=carol`, cookie);
  expect(list.status).toBe(200);
  expect(linkedRequestIds(list.html)).toEqual([id]);
  const detail = await get(`${consoleUrl}/console/requests/${id}`, cookie);
  expect(testId(detail.html, 'request-body')).toContain('from the replica');
  const overview = await get(`${consoleUrl}/console/?range=1h`, cookie);
  expect(testId(overview.html, 'total-requests')).toBe('1');
});

test('one sign-in opens every replica and the console alike (the cookie is keyed by the admin token), and nothing else does', async () => {
  // the cookie is an HMAC keyed by the admin token, so the replicas and the console agree on it
  const fromGateway = await signIn(s.url, TOKEN);
  expect((await get(`${consoleUrl}/console/`, fromGateway)).status).toBe(200);
  expect((await get(`${consoleUrl}/console/`)).status).toBe(303);
});

test('with ClickHouse away a page says the event store could not be read, and works again once it is back', async () => {
  const cookie = await signIn(consoleUrl, TOKEN);
  await front.stop();
  try {
    const down = await get(`${consoleUrl}/console/?range=1h`, cookie);
    expect(down.status).toBe(500);
    expect(testId(down.html, 'error-message')).toBe('The console could not read the event store. The details are in the log.');
  } finally {
    await front.start();
  }
  const up = await get(`${consoleUrl}/console/?range=1h`, cookie);
  expect(up.status).toBe(200);
  expect(testId(up.html, 'total-requests')).toBe('1');
});
