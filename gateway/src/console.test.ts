import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, test } from 'vitest';
import { isConsolePath, protocolOf, withConsole } from './console.ts';

const req = (headers: Record<string, string>, encrypted = false) =>
  ({ headers, socket: { encrypted } as unknown as Socket }) as unknown as IncomingMessage;

describe('console routing', () => {
  test('/console and everything under it, nothing that merely starts the same', () => {
    for (const p of ['/console', '/console/', '/console?range=1h', '/console/requests/abc', '/console/_app/immutable/x.js']) {
      expect(isConsolePath(p), p).toBe(true);
    }
    for (const p of ['/consoles', '/console-x', '/v1/console', '/', undefined]) expect(isConsolePath(p), String(p)).toBe(false);
  });

  test("the page's scheme: the socket's, or behind a trusted proxy the nearest X-Forwarded-Proto", () => {
    expect(protocolOf(req({}), false)).toBe('http');
    expect(protocolOf(req({}, true), false)).toBe('https');
    // not trusted: a client cannot claim https
    expect(protocolOf(req({ 'x-forwarded-proto': 'https' }), false)).toBe('http');
    expect(protocolOf(req({ 'x-forwarded-proto': 'https' }), true)).toBe('https');
    expect(protocolOf(req({ 'x-forwarded-proto': 'http, https' }), true)).toBe('https');
    expect(protocolOf(req({ 'x-forwarded-proto': 'gopher' }), true)).toBe('http');
  });

  test('a console that is not built answers 503 saying how to build it; other paths go on to the gateway', async () => {
    const warnings: string[] = [];
    const log = { info() {}, error() {}, warn: (_o: object, m: string) => void warnings.push(m) };
    const listener = withConsole(
      (_req, res) => res.end('gateway'),
      { client: {} as ClickHouseClient, database: 'watchllm', adminToken: undefined },
      { log, trustedHops: 0, handlerModule: 'file:///nonexistent/watchllm-console/handler.js' },
    );
    const server = createServer((rq, rs) => void listener(rq, rs));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const missing = await fetch(`${base}/console/`);
      expect(missing.status).toBe(503);
      expect(await missing.text()).toContain('pnpm --filter @watchllm/console build');
      expect(missing.headers.get('x-watchllm-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(warnings.join('\n')).toContain('not built');
      expect(await (await fetch(`${base}/v1/models`)).text()).toBe('gateway');
    } finally {
      server.close();
    }
  });
});
