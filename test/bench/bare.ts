/**
 * The floor any proxy must pay: a bare pass-through with no parsing, no routing and no accounting.
 * node:http in, undici `request` out over a keep-alive pool, request body piped up, response body
 * piped down. `pnpm bench` runs it as its own process:
 *   node --import tsx test/bench/bare.ts --port 9100 --upstream http://127.0.0.1:9099
 * It prints `bare pass-through listening on <url>` and stops on SIGTERM/SIGINT.
 */
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

/**
 * Hop-by-hop headers apply to one connection only and must not be forwarded
 * (RFC 9110 §7.6.1); `host` is set by undici from the upstream URL.
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host',
]);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  return out;
}

export interface BareProxy {
  url: string;
  close(): Promise<void>;
}

/** Starts the pass-through in this process (the benchmark runs it standalone through main below). */
export async function startBareProxy(opts: { upstream: string; port?: number; host?: string }): Promise<BareProxy> {
  const { upstream, port = 0, host = '127.0.0.1' } = opts;
  // Same pool shape as the gateway's upstream module, so the comparison is like for like.
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 256 });
  const server = createServer((req, res) => {
    const method = req.method === 'GET' || req.method === 'HEAD' ? req.method : 'POST';
    request(upstream + (req.url ?? '/'), {
      method,
      headers: forwardable(req.headers) as Record<string, string>,
      body: method === 'POST' ? req : null,
      dispatcher: agent,
    }).then(
      async (up) => {
        res.writeHead(up.statusCode, forwardable(up.headers));
        await pipeline(up.body, res);
      },
      (err: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `bare pass-through: ${String(err)}` } }));
      },
    ).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('bare pass-through: not listening on TCP');
  return {
    url: `http://${host}:${addr.port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' } },
  });
  if (!values.upstream) throw new Error('bare.ts: --upstream <url> is required');
  const proxy = await startBareProxy({ upstream: values.upstream.replace(/\/$/, ''), port: Number(values.port), host: values.host });
  process.stdout.write(`bare pass-through listening on ${proxy.url}\n`);
  const stop = (): void => {
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Run as a program (the benchmark spawns this file), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
