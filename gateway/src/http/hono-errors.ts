import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorBody, GatewayError } from '../errors.ts';

/** A GatewayError as the JSON answer of a hono route (OpenAI's error shape), with its headers. */
export function failWith(c: Context, err: GatewayError) {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(errorBody(err, 'openai'), err.status as 400);
}

/** 413 `request_too_large`, the proxy's answer to an oversized body too (http/body.ts). */
export function requestTooLarge(message: string): GatewayError {
  return new GatewayError({
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
    message,
    // the rest of the body is not read: the connection cannot carry another request
    headers: { connection: 'close' },
  });
}

/**
 * A route's body limit, answered before the body is buffered: a declared Content-Length over it is
 * refused unread, a chunked body as soon as it passes it (hono's bodyLimit).
 */
export function limitBody(maxBytes: number, message: string): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: (c) => failWith(c, requestTooLarge(message)) });
}
