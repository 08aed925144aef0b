import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.ts';
import { one } from '../http/headers.ts';

/**
 * Retries: a model whose provider fails in a way that passes ("not now": unreachable, no response
 * headers in time, 429, 5xx, 529) is tried again, after a wait, before its call moves on to a
 * fallback (attempts.ts). Off unless configured (`retries.attempts`) or asked per call
 * (`x-watchllm-retries`): clients' SDKs retry on their own (the official ones twice by default),
 * and two layers retrying multiply the calls a failing provider gets. This module holds the pure
 * parts: how many retries a call gets, and how long to wait before each.
 */

export const RETRIES_HEADER = 'x-watchllm-retries';

export interface RetrySettings {
  /** retries per model after its first try; 0 = none */
  attempts: number;
  /** the most a call may ask for with x-watchllm-retries */
  max_per_call: number;
  /** the first wait; it doubles on each retry of a model (with jitter) */
  backoff_ms: number;
  /** the longest wait, a provider's retry-after included: one asking for longer is not retried */
  max_wait_ms: number;
}

/**
 * Retries per model for this call: `x-watchllm-retries` when the call sends it (0 up to the
 * config's `max_per_call`: a client cannot make a failing provider take more than the operator
 * allows), else the config's `attempts`. Anything else in the header is a 400 naming it.
 */
export function retriesFor(h: IncomingHttpHeaders, settings: RetrySettings): number {
  const raw = one(h[RETRIES_HEADER]);
  if (raw === null || raw.trim() === '') return settings.attempts;
  const text = raw.trim();
  const max = Math.max(settings.attempts, settings.max_per_call);
  const n = /^\d$/.test(text) ? Number(text) : NaN;
  if (n >= 0 && n <= max) return n;
  throw GatewayError.invalid(
    `${RETRIES_HEADER} must be a whole number from 0 to ${max} (retries per model; the gateway's retries.max_per_call).`,
    RETRIES_HEADER,
  );
}

/**
 * The wait a provider asked for, in ms, or null when it named none: `retry-after-ms` (OpenAI),
 * `retry-after` in seconds or as an HTTP date (RFC 9110 §10.2.3), or Gemini's `RetryInfo` detail
 * in the error body (`"retryDelay": "1.5s"`).
 */
export function providerRetryAfterMs(headers: Record<string, string | string[] | undefined>, body: unknown, now = Date.now()): number | null {
  const ms = headerText(headers['retry-after-ms']);
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const after = headerText(headers['retry-after']);
  if (after !== null) {
    if (/^\d+(\.\d+)?$/.test(after)) return Math.ceil(Number(after) * 1000);
    // only an HTTP date (IMF-fixdate): Date.parse takes junk like "-1" or "2." as dates long past
    if (HTTP_DATE.test(after)) return Math.max(0, Date.parse(after) - now);
  }
  return geminiRetryDelayMs(body);
}

const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

function headerText(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? null : s.trim();
}

function geminiRetryDelayMs(body: unknown): number | null {
  // Gemini's OpenAI-compatible endpoint wraps its error in an array
  const error = (Array.isArray(body) ? body[0] : body) as { error?: { details?: unknown } } | null | undefined;
  const details = error?.error?.details;
  if (!Array.isArray(details)) return null;
  for (const d of details) {
    const delay = (d as { retryDelay?: unknown } | null)?.retryDelay;
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) return Math.ceil(Number(delay.slice(0, -1)) * 1000);
  }
  return null;
}

/**
 * How long to wait before retry number `n` (1 for the first) of a model: what the provider asked
 * for when it did, else `backoff_ms` doubled per retry, with "equal jitter" (half fixed, half
 * random) so that calls failing together do not come back together. Null when the wait would be
 * longer than `max_wait_ms`: the provider asked for more than the call may wait, so the call moves
 * on (to a fallback, or to the client with the provider's answer and its retry-after).
 */
export function retryDelayMs(n: number, settings: RetrySettings, providerMs: number | null, random: () => number = Math.random): number | null {
  if (providerMs !== null) return providerMs <= settings.max_wait_ms ? providerMs : null;
  const full = Math.min(settings.max_wait_ms, settings.backoff_ms * 2 ** (n - 1));
  return Math.round(full / 2 + (full / 2) * random());
}
