import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * Connections to one provider host are capped (`server.upstream_max_connections`). A call beyond the
 * cap waits for a free connection, and that wait is part of its `upstream_timeout_ms`: a provider
 * that hangs gets every call its 504 on time, not the queued ones after several timeouts in a row.
 */
let upstream: Server;
let s: Stack;
let open = 0;
let mostOpen = 0;

beforeAll(async () => {
  upstream = createServer((req) => req.resume()); // never answers
  upstream.on('connection', (socket) => {
    mostOpen = Math.max(mostOpen, ++open);
    socket.on('close', () => open--);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  s = await startStack({
    yaml: 'server:\n  upstream_timeout_ms: 600\n  upstream_max_connections: 2\n',
    env: { WATCHLLM_GROQ_BASE_URL: `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1` },
  });
});
afterAll(async () => {
  await s.close();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

describe('the per-provider connection cap', () => {
  test('calls waiting for a connection time out within upstream_timeout_ms from sending', async () => {
    const started = performance.now();
    const call = async (): Promise<{ status: number; ms: number }> => {
      const r = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer gsk-test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'groq/llama-3.1-8b-instant', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await r.arrayBuffer();
      return { status: r.status, ms: performance.now() - started };
    };
    const results = await Promise.all(Array.from({ length: 6 }, call));
    for (const r of results) {
      expect(r.status).toBe(504);
      // one timeout, not three in a row (two connections for six calls)
      expect(r.ms).toBeLessThan(1100);
    }
    // the cap held: never more than two connections at once
    expect(mostOpen).toBe(2);
    const events = await s.waitForEvents(6);
    expect(events.every((x) => x.outcome === 'timeout')).toBe(true);
  });
});
