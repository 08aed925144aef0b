import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { lingerOnClose } from './linger.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/**
 * A server that refuses every body at once with a 413 (`connection: close`) and lingers with `bound`;
 * resolves with the gateway side of the one connection and the port to reach it.
 */
async function refuser(bound: { ms: number; bytes: number }): Promise<{ port: number; accepted: Promise<Socket> }> {
  server = createServer((req, res) => {
    lingerOnClose(req, bound);
    res.writeHead(413, { connection: 'close', 'content-type': 'application/json' });
    res.end('{"error":{"code":"request_too_large"}}');
  });
  const accepted = new Promise<Socket>((resolve) => server!.once('connection', resolve));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Opens a connection and starts a POST declaring `declared` bytes. */
function client(port: number, declared: number): Socket {
  const sock = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sock.on('error', () => {});
  sock.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${declared}\r\n\r\n`);
  return sock;
}

describe('lingerOnClose', () => {
  test('a client that keeps sending is cut once the byte bound is read, long before the time bound', async () => {
    const { port, accepted } = await refuser({ ms: 20_000, bytes: 256 * 1024 });
    const sock = client(port, 1024 * 1024 * 1024);
    const side = await accepted;
    const t0 = performance.now();
    const piece = Buffer.alloc(16 * 1024, 0x20);
    const feed = (): void => {
      while (!sock.destroyed && sock.write(piece));
      if (!sock.destroyed) sock.once('drain', feed);
    };
    feed();
    await new Promise((r) => side.once('close', r));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(side.bytesRead).toBeGreaterThan(256 * 1024);
    expect(side.bytesRead).toBeLessThan(8 * 1024 * 1024);
    sock.destroy();
  });

  test('a client that sends the rest of its body has the connection closed as soon as it has, not at the bound', async () => {
    const { port, accepted } = await refuser({ ms: 20_000, bytes: 16 * 1024 * 1024 });
    const sock = client(port, 4 * 1024 * 1024);
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const side = await accepted;
    const closed = new Promise((r) => side.once('close', r));
    const t0 = performance.now();
    sock.write(Buffer.alloc(4 * 1024 * 1024, 0x20));
    await closed;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(side.bytesRead).toBeGreaterThan(4 * 1024 * 1024);
    expect(answer).toMatch(/^HTTP\/1\.1 413 [^]*request_too_large/);
    sock.destroy();
  });
});
