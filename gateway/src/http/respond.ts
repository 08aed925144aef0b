import type { ServerResponse } from 'node:http';
import { errorBody, type GatewayError } from '../errors.ts';
import { upstreamMs, type Exchange } from '../exchange.ts';
import { serverTiming } from './headers.ts';

/** Headers every response carries, errors included. */
export function baseHeaders(x: Exchange, upstreamMs: number | null): Record<string, string> {
  const total = performance.now() - x.t0;
  const extra = x.timings.reduce((n, t) => n + t.dur, 0);
  const gateway = Math.max(0, total - (upstreamMs ?? 0) - extra);
  return { ...x.responseHeaders, 'x-watchllm-request-id': x.id, 'server-timing': serverTiming(gateway, upstreamMs, x.timings) };
}

/** The content-type of the gateway's SSE answers. */
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/**
 * Writes the head of an answer relayed as it arrives (an SSE stream, audio): the provider's headers,
 * the gateway's, the content-type, and `x-accel-buffering: no`, so that nginx-style proxies in front
 * of the gateway do not buffer it either, and `nosniff`; an SSE stream is also `cache-control: no-cache`.
 */
export function writeRelayHead(x: Exchange, res: ServerResponse, headers: Record<string, string>, contentType = SSE_CONTENT_TYPE): void {
  res.writeHead(200, {
    ...headers,
    ...baseHeaders(x, x.upstream.headersAt! - x.upstream.sentAt!),
    'content-type': contentType,
    ...(contentType === SSE_CONTENT_TYPE ? { 'cache-control': 'no-cache' } : {}),
    'x-accel-buffering': 'no',
    // a relayed body is the provider's: a browser must take it for what its type says, never sniff
    // it into HTML on the gateway's origin (where the console lives)
    'x-content-type-options': 'nosniff',
  });
  x.response.status = 200;
}

export function upstreamMsSoFar(x: Exchange): number | null {
  return upstreamMs(x.upstream, performance.now());
}

/** Sends a complete body. Records what was sent on the exchange. */
export function sendBody(
  res: ServerResponse,
  x: Exchange,
  status: number,
  body: string | Buffer,
  headers: Record<string, string>,
): void {
  const len = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, {
    ...headers,
    ...baseHeaders(x, upstreamMsSoFar(x)),
    'content-type': headers['content-type'] ?? 'application/json',
    'content-length': String(len),
  });
  x.response.status = status;
  x.response.firstByteAt ??= performance.now();
  res.end(body);
  x.response.bytes = len;
}

/** Renders a GatewayError in the client surface's error shape and records it on the exchange. */
export function sendError(res: ServerResponse, x: Exchange, err: GatewayError): void {
  x.outcome = err.outcome;
  x.error = { type: err.code ?? err.type, message: err.message };
  const text = JSON.stringify(errorBody(err, x.surface));
  x.response.body = text;
  if (res.headersSent || res.destroyed) {
    x.response.status ||= err.status;
    return;
  }
  sendBody(res, x, err.status, text, { ...err.headers });
}

/** Writes SSE text, honouring backpressure: resolves once the socket can take more. */
export function writeSse(res: ServerResponse, text: string | Uint8Array): Promise<void> | undefined {
  if (res.write(text)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
