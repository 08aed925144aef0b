/**
 * Oversized request bodies: the gateway answers 413 as soon as it knows, and then reads (and
 * discards) the rest of the upload for a bounded time before it closes the connection, as nginx's
 * lingering close does. A client that writes its whole body before it reads must get the 413, not
 * EPIPE or ECONNRESET; a client that stops sending must not hold the socket for longer than the bound.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

const MB = 1024 * 1024;
const ADMIN = 'admin-token-for-body-limits';
let s: Stack;

beforeAll(async () => {
  s = await startStack({ env: { WATCHLLM_MAX_BODY_MB: '1', WATCHLLM_ADMIN_TOKEN: ADMIN } });
});
afterAll(() => s.close());

interface Answer {
  status: number;
  connection: string | undefined;
  body: unknown;
}

/**
 * POSTs `size` bytes in 64 KiB pieces with node:http (chunked, or with its Content-Length declared)
 * as a client that writes its whole body before it reads (Python's requests, most simple clients):
 * the socket is not read until the request is ended. Resolves with the answer once it is read whole;
 * any transport error before then (EPIPE, ECONNRESET) rejects.
 */
function upload(path: string, size: number, opts: { declared: boolean; headers: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
    if (opts.declared) headers['content-length'] = String(size);
    const req = request(new URL(path, s.url), { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.once('socket', (sock) => sock.pause());
    const piece = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const feed = (): void => {
      while (sent < size) {
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', feed);
      }
      req.end(() => req.socket?.resume());
    };
    feed();
  });
}

const tooLarge = { error: { type: 'invalid_request_error', code: 'request_too_large', param: null } };

describe('a client that writes its whole oversized body, then reads, gets the 413', () => {
  test.each([
    ['a proxied call, chunked', '/v1/chat/completions', false, { authorization: 'Bearer sk-test' }],
    ['a proxied call, Content-Length declared', '/v1/chat/completions', true, { authorization: 'Bearer sk-test' }],
    ['an admin API call (hono), chunked', '/admin/keys', false, { authorization: `Bearer ${ADMIN}` }],
    ['an admin API call (hono), Content-Length declared', '/admin/keys', true, { authorization: `Bearer ${ADMIN}` }],
  ] as const)('%s, 20 times over', async (_name, path, declared, headers) => {
    for (let i = 0; i < 20; i++) {
      const r = await upload(path, 6 * MB, { declared, headers });
      expect(r).toMatchObject({ status: 413, connection: 'close', body: tooLarge });
    }
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});

describe('the rest of the body is read for a bounded time only', () => {
  test.each([
    ['stops sending mid-body', 0],
    ['trickles the rest a few bytes at a time', 50],
  ] as const)('a client that %s has its connection closed by the gateway within 2 s of the 413', async (_name, everyMs) => {
    const server = s.gateway.server;
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    // allowHalfOpen: the gateway's FIN after its answer does not make this client close its side
    const sock = connect({ port: Number(new URL(s.url).port), host: '127.0.0.1', allowHalfOpen: true });
    sock.on('error', () => {});
    const gatewaySide = await accepted;
    const closed = new Promise<number>((resolve) => gatewaySide.once('close', () => resolve(performance.now())));
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    sock.write(
      'POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer sk-test\r\n' +
        `content-type: application/json\r\ncontent-length: ${10 * MB}\r\n\r\n`,
    );
    sock.write(Buffer.alloc(2 * MB, 0x20)); // over the 1 MB limit, and far from the declared 10 MB
    const trickle = everyMs > 0 ? setInterval(() => sock.writable && sock.write('    '), everyMs) : undefined;
    try {
      const answered = await new Promise<number>((resolve) => {
        const check = (): unknown => (answer.includes('request_too_large') ? resolve(performance.now()) : setTimeout(check, 5));
        check();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      const lingered = (await closed) - answered;
      expect(lingered).toBeGreaterThan(1500); // it did wait for the rest of the body...
      expect(lingered).toBeLessThan(3000); // ...but not for ever
    } finally {
      clearInterval(trickle);
      sock.destroy();
    }
  });
});
