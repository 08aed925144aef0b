import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { UpstreamRequest } from '@watchllm/providers';
import { clientClosedError, GatewayError, isShutdownAbort, shutdownError } from './errors.ts';
import type { Logger } from './log.ts';

/** The one place the gateway talks to providers. */
export interface Upstream {
  /**
   * `headersTimeoutMs` shortens the wait for this call's response headers (x-watchllm-timeout-ms),
   * with a timer of its own: undici's per-request timeouts tick in half seconds.
   */
  send(req: UpstreamRequest, signal: AbortSignal, opts?: { headersTimeoutMs?: number | null }): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

export function createUpstream(opts: { headersTimeoutMs: number; bodyTimeoutMs: number; connections?: number }): Upstream {
  // One keep-alive pool per origin; pipelining stays off because LLM calls are long and independent.
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: opts.connections ?? 256,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
  });
  return {
    async send(req, signal, opts) {
      const limit = opts?.headersTimeoutMs ? headersDeadline(signal, opts.headersTimeoutMs) : null;
      try {
        return await request(req.url, {
          method: req.method,
          // identity: the gateway reads usage from the body and re-frames it; compressed bodies would
          // need decoding on the hot path for no gain on a datacenter link.
          headers: { ...req.headers, 'accept-encoding': 'identity' },
          body: req.body ?? null,
          signal: limit?.signal ?? signal,
          dispatcher: agent,
        });
      } catch (e) {
        throw limit?.expired() ? timeoutError(req.url) : upstreamError(e, req.url);
      } finally {
        limit?.done();
      }
    },
    close: () => agent.close(),
  };
}

/**
 * A signal that follows the call's own and also aborts after `ms` unless `done` is called first
 * (once the headers are in: the body is not bound by it).
 */
function headersDeadline(call: AbortSignal, ms: number): { signal: AbortSignal; expired(): boolean; done(): void } {
  const ac = new AbortController();
  let expired = false;
  const follow = (): void => ac.abort(call.reason);
  call.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    ac.abort();
  }, ms);
  return {
    signal: ac.signal,
    expired: () => expired && !call.aborted,
    done() {
      clearTimeout(timer);
      // the body still ends with the call: the listener stays until the call's signal goes
    },
  };
}

function timeoutError(url: string): GatewayError {
  return new GatewayError({
    status: 504,
    type: 'api_error',
    code: 'upstream_timeout',
    outcome: 'timeout',
    message: `The provider at ${safeHost(url)} did not answer in time.`,
  });
}

/** Maps transport failures to client-facing errors that say what happened without leaking internals. */
export function upstreamError(e: unknown, url: string): GatewayError {
  if (isShutdownAbort(e)) return shutdownError();
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError) return timeoutError(url);
  const host = safeHost(url);
  if (e instanceof Error && e.name === 'AbortError') {
    return clientClosedError();
  }
  const code = errCode(e);
  const err = new GatewayError({
    status: 502,
    type: 'api_error',
    code: 'upstream_unreachable',
    outcome: 'upstream_unreachable',
    message: `Could not reach the provider at ${host}${code ? ` (${code})` : ''}.`,
  });
  // The transport's own error, for the log line (logUnreachable); never rendered to the client.
  err.cause = e;
  return err;
}

/**
 * One warn line per call that could not reach its provider (refused, DNS, TLS, connect timeout):
 * which provider, its host and the transport's error code, under the call's request id. Never the
 * URL's path or query, nor the error's message (both could carry more than the host).
 */
export function logUnreachable(log: Logger, err: GatewayError, call: { requestId: string; provider: string; url: string }): void {
  log.warn(
    { requestId: call.requestId, provider: call.provider, host: safeHost(call.url), code: errCode(err.cause) ?? (err.cause instanceof Error ? err.cause.name : 'unknown') },
    'provider unreachable',
  );
}


/**
 * A failure while the provider's body is read (after its headers came): the provider went quiet
 * past the body timeout, or closed the connection mid-answer. Null for anything else (a bug in the
 * gateway stays an internal error).
 */
export function upstreamBodyError(e: unknown, url: string): GatewayError | null {
  if (isShutdownAbort(e)) return shutdownError();
  if (e instanceof GatewayError || !(e instanceof undiciErrors.UndiciError)) return null;
  const host = safeHost(url);
  if (e instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError({
      status: 504,
      type: 'api_error',
      code: 'upstream_timeout',
      outcome: 'timeout',
      message: `The provider at ${host} stopped sending its answer (idle timeout).`,
    });
  }
  if (e instanceof undiciErrors.RequestAbortedError) {
    return clientClosedError();
  }
  return new GatewayError({
    status: 502,
    type: 'api_error',
    code: 'bad_upstream_response',
    outcome: 'upstream_error',
    message: `The provider at ${host} closed the connection before its answer was complete.`,
  });
}

function errCode(e: unknown): string | null {
  let cur: unknown = e;
  for (let i = 0; i < 3 && cur instanceof Error; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && !c.startsWith('UND_ERR_SOCKET')) return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured URL';
  }
}
