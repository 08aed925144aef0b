import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.ts';
import type { Exchange, TimingSegment } from '../exchange.ts';

const PROPERTY_PREFIX = 'x-watchllm-property-';
const MAX_META_LENGTH = 256;

/**
 * Captures `x-watchllm-user`, `x-watchllm-session` and `x-watchllm-property-<name>` for the event,
 * decoded as UTF-8 (a user named `José` is recorded as `José`, not `JosÃ©`).
 */
export function readMeta(x: Exchange, h: IncomingHttpHeaders): void {
  x.meta.user = metaValue(h['x-watchllm-user']);
  x.meta.session = metaValue(h['x-watchllm-session']);
  const parent = traceParent(one(h['traceparent']));
  const own = metaValue(h['x-watchllm-trace-id']);
  x.meta.traceId = own ?? parent?.traceId ?? null;
  // a span of another trace than the one recorded would link the call to the wrong place
  x.meta.spanId = parent && (own === null || own === parent.traceId) ? parent.spanId : null;
  for (const name in h) {
    if (name.startsWith(PROPERTY_PREFIX)) {
      const v = metaValue(h[name]);
      if (v !== null) x.meta.properties[name.slice(PROPERTY_PREFIX.length)] = v;
    }
  }
}

/**
 * The trace and the calling span of a W3C `traceparent` (https://www.w3.org/TR/trace-context/):
 * `00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`, what OpenTelemetry's HTTP instrumentation
 * adds to an app's outgoing calls. Anything else, all-zero ids or version ff, is ignored, as the
 * spec asks (the call is recorded without a trace). A later version may add fields after the flags.
 */
export function traceParent(v: string | null): { traceId: string; spanId: string } | null {
  const m = v === null ? null : /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/.exec(v.trim());
  if (!m) return null;
  const [, version, traceId, spanId, more] = m as unknown as [string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && more !== undefined)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId };
}

/** One metadata value: decoded before it is cut, so the cut never splits a UTF-8 sequence. */
function metaValue(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  const cut = s === undefined ? null : one(utf8(s));
  // A cut between the two halves of an emoji would store half a character.
  return cut !== null && /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * Node reads header bytes as latin1, so UTF-8 sent by clients (as SDKs and browsers send it) arrives as
 * mojibake. Bytes that form valid UTF-8 are decoded as such; anything else (a client that really meant
 * latin1) is kept as it came.
 */
export function utf8(latin1: string): string {
  // Pure ASCII reads the same either way; a char above 0xff did not come from header bytes.
  if (!/[\x80-\xff]/.test(latin1) || /[^\x00-\xff]/.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : latin1;
}

export function one(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s === '') return null;
  return s.length > MAX_META_LENGTH ? s.slice(0, MAX_META_LENGTH) : s;
}

/**
 * A header that must be a whole number from 1 to `max`: null when absent; anything else is a 400
 * naming the header (`what` says the unit and range), not a setting silently ignored.
 */
export function wholeNumberHeader(h: IncomingHttpHeaders, name: string, max: number, what: string): number | null {
  const raw = one(h[name]);
  if (raw === null) return null;
  const n = /^\d{1,10}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (n >= 1 && n <= max) return n;
  throw GatewayError.invalid(`${name} must be a whole number of ${what}.`, name);
}

/** Client headers that providers understand and that are forwarded; everything else stays here. */
const PASS_HEADERS = [
  'anthropic-version',
  'anthropic-beta',
  'openai-organization',
  'openai-project',
  'openai-beta',
] as const;

export function passHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PASS_HEADERS) {
    const v = h[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/**
 * Upstream response headers worth showing the client (request ids, provider rate-limit state,
 * processing time). Hop-by-hop headers, framing (content-length, transfer-encoding), encodings and
 * cookies are never copied.
 */
export function copyUpstreamHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in h) {
    if (
      name === 'x-request-id' ||
      name === 'request-id' ||
      name === 'retry-after' ||
      name.startsWith('openai-') ||
      name.startsWith('anthropic-') ||
      name.startsWith('x-ratelimit-')
    ) {
      const v = h[name];
      if (typeof v === 'string') out[name] = v;
    }
  }
  return out;
}

/** `server-timing` (https://www.w3.org/TR/server-timing/): where the time of this call went. */
export function serverTiming(gatewayMs: number, upstreamMs: number | null, extra: readonly TimingSegment[]): string {
  let s = `gateway;dur=${gatewayMs.toFixed(2)}`;
  if (upstreamMs !== null) s += `, upstream;dur=${upstreamMs.toFixed(2)}`;
  for (const t of extra) s += `, ${t.name};dur=${t.dur.toFixed(2)}`;
  return s;
}

/**
 * The client's address. With `trustedHops` (`server.trust_proxy`: the gateway is reached only
 * through that many proxies of yours, e.g. 2 for a CDN and nginx), the `x-forwarded-for` entry
 * that many from the right: each proxy appends the peer it saw, so that entry is what the
 * outermost of yours saw. Entries to its left come from the client, so the left-most one would let
 * any client choose the address recorded. With fewer entries than hops, the left-most there is.
 */
export function clientIp(remote: string | undefined, h: IncomingHttpHeaders, trustedHops: number): string | null {
  if (trustedHops > 0) {
    // Node joins repeated x-forwarded-for headers with ', '; the order of entries is kept
    const xff = h['x-forwarded-for'];
    const entries = (Array.isArray(xff) ? xff.join(',') : xff)?.split(',') ?? [];
    const entry = entries.at(-Math.min(trustedHops, entries.length))?.trim();
    if (entry) return one(entry);
  }
  return remote ?? null;
}
