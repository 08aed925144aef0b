import { createServer } from 'node:net';
import type { Gateway } from '@watchllm/gateway';

/**
 * Helpers shared by the events end-to-end suites (events*.test.ts): they read what the gateway
 * stored in `watchllm.requests` through its own ClickHouse client.
 */

/** A row of watchllm.requests as JSONEachRow returns it (64-bit ints as numbers, see client.ts). */
export interface StoredRow {
  request_id: string;
  ts: string;
  project: string;
  key_id: string;
  key_fingerprint: string;
  user: string;
  session: string;
  properties: Record<string, string>;
  surface: string;
  endpoint: string;
  provider: string;
  model: string;
  upstream_model: string;
  stream: boolean;
  status_code: number;
  outcome: string;
  error_type: string;
  error_message: string;
  cache_status: string;
  limit_decision: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  usage_source: string;
  cost_usd: number | null;
  priced: boolean;
  cost_saved_usd: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  upstream_ms: number | null;
  finish_reason: string;
  request_body: string;
  response_body: string;
}

/** The gateway's event store; fails the test when events are off. */
export function eventsOf(g: Gateway): NonNullable<Gateway['events']> {
  if (!g.events) throw new Error('the gateway records no events (WATCHLLM_EVENTS=off?)');
  return g.events;
}

/** Every stored row (no FINAL: a duplicate must show up as two rows). */
export async function storedRows(g: Gateway): Promise<StoredRow[]> {
  const { client, writer } = eventsOf(g);
  await writer.flush();
  const rs = await client.query({ query: 'SELECT * FROM watchllm.requests ORDER BY ts, request_id', format: 'JSONEachRow' });
  return rs.json<StoredRow>();
}

/** Rows per request_id. */
export async function countsById(g: Gateway): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await storedRows(g)) out.set(r.request_id, (out.get(r.request_id) ?? 0) + 1);
  return out;
}

/** A port nothing listens on: bind, note it, close. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The id the gateway gave the client, from any Headers-like object. */
export function requestIdOf(headers: { get(name: string): string | null } | undefined): string {
  const id = headers?.get('x-watchllm-request-id');
  if (!id) throw new Error('response has no x-watchllm-request-id');
  return id;
}

export const quietLog = { info() {}, warn() {}, error() {} };
