import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorBody, GatewayError } from '../errors.ts';
import { lingerOnClose } from './linger.ts';

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
    // the body is not read whole: the connection is closed after the answer (lingering, http/linger.ts)
    headers: { connection: 'close' },
  });
}

/**
 * A route's body limit, answered before the body is buffered: a declared Content-Length over it is
 * refused unread, a chunked body as soon as it passes it (hono's bodyLimit). The rest of the body is
 * then read, bounded, before the connection closes, so the client gets to read the 413.
 */
export function limitBody(maxBytes: number, message: string): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      if (incoming) lingerOnClose(incoming);
      return failWith(c, requestTooLarge(message));
    },
  });
}
