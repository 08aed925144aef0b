import { freePort } from '../support/ports.ts';
import type { Gateway, RequestRow } from '@watchllm/gateway';

/**
 * Helpers shared by the events end-to-end suites (events*.test.ts): they read what the gateway
 * stored in `watchllm.requests` through its own ClickHouse client.
 */

/** A row of watchllm.requests as JSONEachRow returns it: the shape the writer inserts (64-bit ints as numbers). */
export type StoredRow = RequestRow;

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


/** The id the gateway gave the client, from any Headers-like object. */
export function requestIdOf(headers: { get(name: string): string | null } | undefined): string {
  const id = headers?.get('x-watchllm-request-id');
  if (!id) throw new Error('response has no x-watchllm-request-id');
  return id;
}

export const quietLog = { info() {}, warn() {}, error() {} };

/** A loopback port nothing listens on: a provider pointed there is unreachable. */
export const closedPort = freePort;
