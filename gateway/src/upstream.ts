import { PassThrough, type Readable, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { UpstreamRequest } from '@watchllm/providers';
import { clientClosedError, GatewayError, isShutdownAbort, shutdownError } from './errors.ts';
import type { Logger } from './log.ts';

/** A provider's answer: its status, headers and body (decoded when the provider compressed it). */
export interface UpstreamResponse {
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  /** Read it, or `dump` it (an answer that is no answer): either way the connection is released. */
  body: AsyncIterable<Buffer> & { dump(): Promise<void> };
}

/** The one place the gateway talks to providers. */
export interface Upstream {
  /**
   * The wait for the response headers is bounded from the moment of sending, the wait for a free
   * connection included: `upstream_timeout_ms`, or `headersTimeoutMs` when a call shortens it
   * (x-watchllm-timeout-ms). A timer of its own keeps it: undici's per-request timeout starts only
   * once the request is on a socket, and ticks in half seconds.
   */
  send(req: UpstreamRequest, signal: AbortSignal, opts?: { headersTimeoutMs?: number | null }): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

/**
 * `connections`: how many connections one provider host (origin) gets at most
 * (`server.upstream_max_connections`); calls beyond them wait for a free one, within the headers
 * deadline.
 */
export function createUpstream(opts: { headersTimeoutMs: number; bodyTimeoutMs: number; connections: number }): Upstream {
  // One keep-alive pool per origin; pipelining stays off because LLM calls are long and independent.
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: opts.connections,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
  });
  return {
    async send(req, signal, sendOpts) {
      const limit = headersDeadline(signal, sendOpts?.headersTimeoutMs ?? opts.headersTimeoutMs);
      try {
        const up = await request(req.url, {
          method: req.method,
          // identity: the gateway reads usage from the body and re-frames it; compressed bodies would
          // need decoding on the hot path for no gain on a datacenter link. Some hosts compress
          // anyway: those bodies are decoded (decoded()).
          headers: { ...req.headers, 'accept-encoding': 'identity' },
          body: req.bytes ?? req.body ?? null,
          signal: limit.signal,
          dispatcher: agent,
        });
        limit.done(up.body);
        return decoded(up);
      } catch (e) {
        limit.done(null);
        throw limit.expired() ? timeoutError(req.url) : upstreamError(e, req.url);
      }
    },
    close: () => agent.close(),
  };
}

/**
 * A signal that follows the call's own and also aborts after `ms` (from now: the wait for a
 * connection included) unless `done` is called first, once the headers are in: the body is not
 * bound by it. The body still ends with the call: the call's signal is followed until it closes.
 */
function headersDeadline(call: AbortSignal, ms: number): { signal: AbortSignal; expired(): boolean; done(body: Readable | null): void } {
  const ac = new AbortController();
  let expired = false;
  const follow = (): void => ac.abort(call.reason);
  if (call.aborted) follow();
  else call.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    ac.abort();
  }, ms);
  return {
    signal: ac.signal,
    expired: () => expired && !call.aborted,
    done(body) {
      clearTimeout(timer);
      // one listener per attempt would pile up on the call's signal over retries and fallbacks
      const stop = (): void => call.removeEventListener('abort', follow);
      if (body === null || body.closed) stop();
      else body.once('close', stop);
    },
  };
}

/**
 * Decoders by `content-encoding`. The gateway asks for identity, but some hosts (a CDN, a proxy in
 * front of a self-hosted model) compress anyway. Like browsers and undici's fetch, a body cut
 * short of its compressed end still yields what it held (sync flush), so a stream cut mid-way is
 * reported as cut, not as a decoding error. zstd where this Node has it (22.15+).
 */
const DECODERS: Readonly<Record<string, (() => Transform) | undefined>> = {
  gzip: () => zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  'x-gzip': () => zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  deflate: () => zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  br: () =>
    zlib.createBrotliDecompress({
      flush: zlib.constants.BROTLI_OPERATION_FLUSH,
      finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
    }),
  ...('createZstdDecompress' in zlib
    ? { zstd: () => (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress() }
    : {}),
};

/** A body that could not be decoded by its `content-encoding` (upstreamBodyError makes it a 502). */
class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(readonly encoding: string, cause: unknown) {
    super(`cannot decode a ${encoding} body`, { cause });
  }
}

/**
 * The response with its body decoded by its `content-encoding` (several codings are undone in
 * reverse order), and without `content-encoding` and `content-length`, which described the bytes
 * on the wire. Decoding is streamed: each compressed chunk is passed on as soon as it is inflated
 * (an SSE stream stays unbuffered). An unknown coding is passed through as it came. A transport
 * error of the provider's body comes out of the decoded body as it was (upstreamBodyError maps it);
 * a body the decoder cannot read comes out as a DecodeError. Leaving the decoded body early
 * (a client gone, a stream cut) destroys the provider's body, as leaving it would.
 */
function decoded(up: Dispatcher.ResponseData): UpstreamResponse {
  const header = up.headers['content-encoding'];
  const codings = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0 || codings.some((c) => DECODERS[c] === undefined)) return up;
  const src = up.body;
  const out = new PassThrough();
  const decoders = codings.reverse().map((coding) => {
    const dec = DECODERS[coding]!();
    dec.on('error', (e: unknown) => out.destroy(new DecodeError(coding, e)));
    return dec;
  });
  let at: Readable = src;
  for (const dec of decoders) at = at.pipe(dec);
  at.pipe(out);
  src.on('error', (e) => out.destroy(e));
  out.on('close', () => {
    src.destroy();
    for (const dec of decoders) dec.destroy();
  });
  const headers = { ...up.headers };
  delete headers['content-encoding'];
  delete headers['content-length'];
  return {
    statusCode: up.statusCode,
    headers,
    body: Object.assign(out, {
      async dump(): Promise<void> {
        out.destroy();
      },
    }),
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
 * past the body timeout, closed the connection mid-answer, or sent a compressed body that does not
 * decode. Null for anything else (a bug in the gateway stays an internal error).
 */
export function upstreamBodyError(e: unknown, url: string): GatewayError | null {
  if (isShutdownAbort(e)) return shutdownError();
  const host = safeHost(url);
  if (e instanceof DecodeError) {
    return new GatewayError({
      status: 502,
      type: 'api_error',
      code: 'bad_upstream_response',
      outcome: 'upstream_error',
      message: `The provider at ${host} sent a ${e.encoding} body the gateway could not decode.`,
    });
  }
  if (e instanceof GatewayError || !(e instanceof undiciErrors.UndiciError)) return null;
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
