import { describe, expect, test } from 'vitest';
import { shutDownMidStream, startStack } from './harness.ts';

/**
 * Streams still running when the shutdown grace period is over are ended by the gateway: the client
 * gets an error event saying so (gateway_shutdown, retry it), and the call is recorded as the
 * gateway's doing, not as a stream the provider cut.
 */
describe('shutdown with a stream in flight past the grace period', () => {
  test('the client gets a gateway_shutdown error event; the event records gateway_shutdown', async () => {
    const s = await startStack({ yaml: 'server:\n  shutdown_grace_ms: 200\n' });
    try {
      s.fake.next({ text: Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '), chunks: 40, chunkDelayMs: 100 });
      const r = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk slowly' }] }),
      });
      expect(r.status).toBe(200);
      const text = await shutDownMidStream(s, r);
      expect(text).toContain('"code":"gateway_shutdown"');
      expect(text).not.toContain('upstream_stream_cut');
      const [x] = await s.waitForEvents(1);
      expect(x!.error?.type).toBe('gateway_shutdown');
    } finally {
      await s.close().catch(() => {});
    }
  });
});

describe('shutdown with a drain delay (server.drain_delay_ms)', () => {
  test('readiness turns 503 draining at once while calls are still served, then the listener closes', async () => {
    const s = await startStack({ yaml: 'server:\n  drain_delay_ms: 600\n' });
    try {
      const closing = s.gateway.close();
      const ready = await fetch(`${s.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining' });
      // a call that arrives meanwhile is still answered
      const r = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there?' }] }),
      });
      expect(r.status).toBe(200);
      await closing;
      await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    } finally {
      await s.close().catch(() => {});
    }
  });
});

describe('shutdown while a call waits to retry its provider', () => {
  test('the client gets 503 gateway_shutdown (worth retrying elsewhere), not a client_closed', async () => {
    const s = await startStack({ yaml: 'server:\n  shutdown_grace_ms: 200\nretries: { attempts: 2, max_wait_ms: 5000 }\n' });
    try {
      s.fake.next({ status: 503, retryAfter: 3 });
      const answer = fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
      });
      // the first try failed: the call now waits the three seconds the provider asked for
      for (let i = 0; i < 100 && s.fake.calls[0]?.status !== 503; i++) await new Promise((r) => setTimeout(r, 10));
      const closing = s.gateway.close();
      const r = await answer;
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ error: { code: 'gateway_shutdown' } });
      await closing;
      const [x] = await s.waitForEvents(1);
      expect(x!.error?.type).toBe('gateway_shutdown');
      // the try that failed is listed; no retry was made
      expect(x!.attempts.map((a) => a.result)).toEqual(['failed']);
      expect(s.fake.calls).toHaveLength(1);
    } finally {
      await s.close().catch(() => {});
    }
  });
});
