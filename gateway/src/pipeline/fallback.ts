import type { IncomingHttpHeaders } from 'node:http';
import { compileGlob } from '@watchllm/policies';
import { FORM_ENDPOINTS } from '@watchllm/providers';
import type { Config } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';

/**
 * Fallbacks: when a provider fails a call before anything reached the client, the gateway tries
 * the next model of the call's chain (a balanced call's other targets, then config `fallbacks:`;
 * or the `x-watchllm-fallbacks` header), each through the same checks as a first attempt
 * (attempts.ts). This module holds the pure parts: which chain applies, and which failures move on
 * to the next model.
 */

/** At most this many models after the first: each one may wait for a full upstream timeout. */
export const MAX_FALLBACKS = 5;

/**
 * Provider answers that say "not now" rather than "not this request": rate limited, failing,
 * overloaded (529 is Anthropic's). Another model may well answer. A 4xx about the request itself
 * (400, 401, 404, 413, 422) would fail the same way elsewhere, or hide a bug: passed on as is, save
 * a prompt too long for the model's window (contextTooLong).
 */
const FALLBACK_STATUSES = new Set([429, 500, 502, 503, 504, 529]);

export function fallsBackOnStatus(status: number): boolean {
  return FALLBACK_STATUSES.has(status);
}

/**
 * A 400 that says the prompt does not fit the model's context window: a model with a larger one
 * may well take it (OpenAI's `context_length_exceeded`, Anthropic's "prompt is too long", Gemini's
 * "input token count ... exceeds the maximum").
 */
export function contextTooLong(status: number, error: { code: string | null; message: string }): boolean {
  if (status !== 400) return false;
  if (error.code === 'context_length_exceeded') return true;
  return /prompt is too long|maximum context length|input token count .* exceeds the maximum/i.test(error.message);
}

/** A transport failure (the provider unreachable, or no response headers in time): another provider may well answer. */
export function fallsBackOnError(e: unknown): e is GatewayError {
  return e instanceof GatewayError && (e.outcome === 'upstream_unreachable' || e.outcome === 'timeout');
}

/**
 * An attempt failed in a way a fallback may cure, and nothing was sent to the client. `why` says
 * it in a few words for the event (`HTTP 503 overloaded_error`); `answer` sends the client what it
 * would have got without a fallback (the provider's error, or the gateway's 502/504).
 */
export class AttemptFailed extends Error {
  constructor(
    readonly why: string,
    readonly answer: () => void,
    /** a failure a fallback may cure (fallsBackOnStatus / fallsBackOnError), not a fallback model's own 4xx */
    readonly retryable: boolean,
    /** for metrics: the provider's status, `timeout` or `upstream_unreachable` */
    readonly kind: string,
    /**
     * the same model may answer if tried again (a failure that passes: not a context window too
     * small), and the wait its provider asked for in ms (retry.ts), null when it named none
     */
    readonly retry: { transient: boolean; afterMs: number | null } = { transient: false, afterMs: null },
  ) {
    super(why);
  }
}

export type CompiledFallbacks = ReadonlyArray<{ pattern: RegExp; models: readonly string[] }>;

/** Compiled once per config: the model (a name or a glob, as clients send it) -> models to try next. */
export function compileFallbacks(config: Config): CompiledFallbacks {
  return Object.entries(config.fallbacks).map(([glob, models]) => ({ pattern: compileGlob(glob), models }));
}

export const FALLBACKS_HEADER = 'x-watchllm-fallbacks';

/** The chain without the model the call now has (after a policy rewrote it): never tried twice. */
export function exceptCurrent(chain: readonly string[], x: Exchange): string[] {
  const current = new Set([x.request.model ?? '', ...(x.route ? [x.route.model, `${x.route.provider}/${x.route.model}`] : [])].map((m) => m.toLowerCase()));
  return chain.filter((m) => !current.has(m.toLowerCase()));
}

/**
 * The models to try after the first, in order: the header's (comma-separated; `none` for no
 * fallback) when the call sends one, else the first config entry matching the model as the client
 * named it or as it was routed (`gpt-4o`, `openai/gpt-4o`). The model itself is never tried twice.
 */
export function fallbackChain(
  x: Exchange,
  headers: IncomingHttpHeaders,
  compiled: CompiledFallbacks,
  /** a balanced call (balance.ts): the model the client asked for, and the targets not picked */
  balanced?: { asked: string; rest: readonly string[] },
): string[] {
  const model = x.request.model;
  // A form (a transcription) names its model in bytes forwarded as they are: no other model can take it.
  if (model === null || x.endpoint === 'models' || x.endpoint === 'count_tokens' || FORM_ENDPOINTS.has(x.endpoint)) return [];
  const routed = x.route ? [x.route.model, `${x.route.provider}/${x.route.model}`] : [];
  const raw = headers[FALLBACKS_HEADER];
  const header = Array.isArray(raw) ? raw.join(',') : raw;
  const names = header === undefined ? [] : header.split(',').map((s) => s.trim()).filter((s) => s !== '');
  let chain: readonly string[];
  // an empty header is no header: the config's chain holds
  if (names.length > 0) {
    if (names.length === 1 && names[0]!.toLowerCase() === 'none') return [];
    if (names.length > MAX_FALLBACKS) {
      throw GatewayError.invalid(`${FALLBACKS_HEADER} names ${names.length} models; at most ${MAX_FALLBACKS} may follow the first.`, FALLBACKS_HEADER);
    }
    const long = names.find((n) => n.length > 256);
    if (long !== undefined) throw GatewayError.invalid(`${FALLBACKS_HEADER} holds a model name longer than 256 characters.`, FALLBACKS_HEADER);
    chain = names;
  } else {
    // a balanced call's chain is its other targets, then the config's for the model asked for
    const names = balanced ? [balanced.asked] : [model, ...routed];
    const configured = compiled.find((f) => names.some((n) => f.pattern.test(n)))?.models ?? [];
    chain = [...(balanced?.rest ?? []), ...configured];
  }
  // never the model itself again (for a balanced call: the target picked, named as routed)
  const seen = new Set((balanced ? routed : [model, ...routed]).map((m) => m.toLowerCase()));
  return chain.filter((m) => {
    const k = m.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
