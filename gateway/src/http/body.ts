import type { IncomingMessage } from 'node:http';
import { clientClosedError, GatewayError } from '../errors.ts';
import { requestTooLarge } from './hono-errors.ts';
import { lingerOnClose } from './linger.ts';

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit is refused before
 * a byte is read; a chunked body is refused as soon as it crosses the limit, so an oversized upload is
 * never buffered whole.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  // RFC 9112 §6.3: when Transfer-Encoding is present it takes precedence over Content-Length.
  if (declared !== undefined && req.headers['transfer-encoding'] === undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > limit) throw tooLarge(req, n, limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // Not destroyed when the loop stops at the limit: the rest is read by the lingering close.
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge(req, null, limit);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    // The client went away mid-upload ("aborted", ECONNRESET): its call, not a gateway failure.
    throw clientClosedError();
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** The 413, and the rest of the body read (bounded) before the connection closes (http/linger.ts). */
function tooLarge(req: IncomingMessage, size: number | null, limit: number): GatewayError {
  lingerOnClose(req);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return requestTooLarge(
    `Request body ${size === null ? 'exceeds' : `is ${mb(size)}; it exceeds`} the gateway limit of ${mb(limit)} (WATCHLLM_MAX_BODY_MB).`,
  );
}
