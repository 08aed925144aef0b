import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { GatewayError } from '../errors.ts';
import { readBody } from './body.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** Serves one request whose body `readBody` reads with `limit`; resolves with what it gave. */
function serveOne(limit: number, send: (port: number) => void): Promise<Buffer | unknown> {
  return new Promise((resolve) => {
    server = createServer((req: IncomingMessage, res) => {
      readBody(req, limit).then(
        (b) => {
          resolve(b);
          res.end();
        },
        (e: unknown) => {
          resolve(e);
          res.destroy();
        },
      );
    });
    server.listen(0, '127.0.0.1', () => send((server!.address() as AddressInfo).port));
  });
}

const post = (port: number, headers: Record<string, string> = {}) =>
  request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }).on('error', () => {});

describe('readBody', () => {
  test('reads a chunked body whole', async () => {
    const got = await serveOne(1024, (port) => {
      const req = post(port);
      req.write('{"a":');
      req.end('1}');
    });
    expect(String(got)).toBe('{"a":1}');
  });

  test('refuses a declared Content-Length over the limit with 413 before reading it', async () => {
    const got = await serveOne(10, (port) => {
      const req = post(port, { 'content-length': '1000' });
      req.write('x'.repeat(5));
    });
    expect(got).toBeInstanceOf(GatewayError);
    expect(got).toMatchObject({ status: 413, code: 'request_too_large' });
  });

  test('a client that goes away mid-upload is client_closed (499), not an internal error', async () => {
    const got = await serveOne(1024, (port) => {
      const req = post(port, { 'content-length': '100' });
      req.write('{"model":', () => setTimeout(() => req.destroy(), 20));
    });
    expect(got).toBeInstanceOf(GatewayError);
    expect(got).toMatchObject({ status: 499, code: 'client_closed', outcome: 'client_closed' });
  });
});
