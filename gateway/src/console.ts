import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachConsoleContext, type ConsoleContext } from '@watchllm/console/context';
import { clientIp } from './http/headers.ts';
import type { Logger } from './log.ts';

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;
type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** `/console`, `/console/...` and `/console?...`, not `/consoles`. */
export function isConsolePath(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('/console') && (url.length === 8 || url[8] === '/' || url[8] === '?');
}

/**
 * Serves the SvelteKit console (console/, built with adapter-node) under `/console`, in front of
 * `rest`. The console reads the gateway's own ClickHouse client, handed over with each request:
 * an embedded chDB store can be opened once per process. Its handler is imported on the first
 * visit, so a gateway nobody browses never loads it.
 *
 * Not built (`pnpm start` and `pnpm test` build it; see console/scripts/build-if-stale.mjs):
 * `/console` answers 503 saying how to build it.
 */
export function withConsole(
  rest: Listener,
  ctx: ConsoleContext,
  opts: {
    log: Logger;
    /** `server.trust_proxy`: how many proxies of yours the client's address and scheme came through */
    trustedHops: number;
    /** the built handler's module (tests) */
    handlerModule?: string;
  },
): Listener {
  const { log } = opts;
  // SvelteKit refuses a form post whose Origin is not the page's own origin, and adapter-node takes
  // the page's scheme to be https unless told: the gateway tells it (below), from the socket or,
  // behind a trusted proxy, from X-Forwarded-Proto. WATCHLLM_CONSOLE_ORIGIN, when set, wins.
  process.env['WATCHLLM_CONSOLE_PROTOCOL_HEADER'] ??= PROTO;
  // The client's address (SvelteKit's getClientAddress, which the sign-in throttle keys on), as the
  // gateway reads it for its own events: behind trusted proxies, from X-Forwarded-For.
  process.env['WATCHLLM_CONSOLE_ADDRESS_HEADER'] ??= ADDRESS;
  let handler: Promise<NodeHandler | null> | undefined;
  const load = () =>
    (handler ??= import(opts.handlerModule ?? CONSOLE_HANDLER).then(
      (m: { handler: NodeHandler }) => m.handler,
      (e: unknown) => {
        handler = undefined; // built meanwhile: the next visit finds it
        log.warn({ err: e }, 'the console is not built: run `pnpm --filter @watchllm/console build`');
        return null;
      },
    ));
  return function consoleOrRest(req, res) {
    if (!isConsolePath(req.url)) return rest(req, res);
    res.setHeader('x-watchllm-request-id', randomUUID());
    attachConsoleContext(req, ctx);
    req.headers[PROTO] = protocolOf(req, opts.trustedHops > 0);
    req.headers[ADDRESS] = clientIp(req.socket.remoteAddress, req.headers, opts.trustedHops) ?? '';
    return load().then((h) => {
      if (h) return h(req, res);
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The WatchLLM console is not built: run `pnpm --filter @watchllm/console build`, then reload.\n');
    });
  };
}

/** Set by the gateway on every console request, over whatever a client sent. */
const PROTO = 'x-watchllm-console-proto';
const ADDRESS = 'x-watchllm-console-address';

export function protocolOf(req: IncomingMessage, trustProxy: boolean): 'http' | 'https' {
  if (trustProxy) {
    // the proxy nearest to us appends last
    const forwarded = String(req.headers['x-forwarded-proto'] ?? '').split(',').at(-1)?.trim().toLowerCase();
    if (forwarded === 'https' || forwarded === 'http') return forwarded;
  }
  return (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
}

/** A variable, so TypeScript does not look for types of the built (untyped) bundle. */
const CONSOLE_HANDLER: string = '@watchllm/console/handler';
