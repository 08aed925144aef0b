import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { adminAuth } from './admin-auth.ts';
import { clientIp } from './http/headers.ts';
import { SignInThrottle } from './sign-in-throttle.ts';
import type { Deps } from './deps.ts';
import { errorBody, GatewayError, toGatewayError } from './errors.ts';
import { eventRoutes, type ClickHouseClient, type EventWriter } from './events/index.ts';
import { ingestIdentity, type IngestIdentity } from './ingest-auth.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { opsRoutes, type ReadinessCheck } from './routes/ops.ts';
import { PROXIED, surfaceOf } from './routes/proxy.ts';

type Env = { Bindings: HttpBindings; Variables: { identity: IngestIdentity; requestId: string } };

/** The header proxied calls carry their event's id in (http/respond.ts); every other answer gets one too. */
const REQUEST_ID = 'x-watchllm-request-id';

/**
 * The HTTP app for everything but the proxied calls (routes/proxy.ts): operations routes, the admin
 * API (behind WATCHLLM_ADMIN_TOKEN), the event query and ingest API, and 404 / 405 answers for
 * everything else, in the shape of the surface the client speaks.
 */
export function createApp(
  deps: Deps,
  opts: {
    checks: ReadonlyArray<ReadinessCheck>;
    draining: () => boolean;
    events: { client: ClickHouseClient; writer: EventWriter } | null;
    /** Wrong admin tokens per client address; shared with the console's sign-in (server.ts). */
    signIns?: SignInThrottle;
  },
): Hono<Env> {
  const app = new Hono<Env>();
  // First, so it wraps every route, notFound and onError: the README promises the header on every
  // response, and a support request quoting it must find this answer in the logs.
  app.use(async function requestId(c, next) {
    c.set('requestId', randomUUID());
    await next();
    // c.header, not c.res.headers.set: after next() it copies the response, whose headers may be immutable.
    if (!c.res.headers.has(REQUEST_ID)) c.header(REQUEST_ID, c.get('requestId'));
  });
  app.route('/', opsRoutes({ metrics: deps.metrics, checks: opts.checks, draining: opts.draining }));

  const throttle = opts.signIns ?? new SignInThrottle();
  // c.env is node-server's bindings; absent when the app is called directly (app.request, tests)
  const addressOf = (c: Context<Env>) => {
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    return incoming ? (clientIp(incoming.socket.remoteAddress, incoming.headers, deps.config.server.trust_proxy) ?? '') : '';
  };
  app.use('/admin/*', adminAuth(deps.config.admin_token, { throttle, addressOf }));
  app.route('/', adminKeyRoutes({ keys: deps.stores.keys, providers: deps.registry.ids }));
  if (opts.events) {
    app.use('/v1/events', ingestIdentity(deps));
    app.route('/', eventRoutes({ client: opts.events.client, writer: opts.events.writer, identify: (c) => c.get('identity') }));
  }

  const allowed = methodsOf([...app.routes, ...PROXIED]);
  app.notFound((c) => {
    const surface = surfaceOf(c.req.path, c.req.header('anthropic-version') !== undefined);
    const methods = allowed(c.req.path);
    // A known path called with the wrong method: say which methods it takes (RFC 9110 §15.5.6)
    // rather than claim the URL does not exist (OpenAI's own API words it the same way).
    if (methods.length > 0) {
      c.header('allow', methods.join(', '));
      const err = new GatewayError({
        status: 405,
        type: 'invalid_request_error',
        code: 'method_not_allowed',
        message: `Invalid method for URL (${c.req.method} ${c.req.path})`,
      });
      return c.json(errorBody(err, surface), 405);
    }
    const err = new GatewayError({
      status: 404,
      type: 'invalid_request_error',
      code: 'unknown_url',
      message: `Invalid URL (${c.req.method} ${c.req.path})`,
    });
    return c.json(errorBody(err, surface), 404);
  });
  app.onError((e, c) => {
    // A store outage (the key store behind /v1/events or the admin API) is a 503 to retry, not a bug.
    const err = toGatewayError(e);
    if (err.code === 'internal_error') deps.log.error({ err: e, path: c.req.path, requestId: c.get('requestId') }, 'unhandled route error');
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    return c.json(errorBody(err, 'openai'), err.status as 500);
  });
  return app;
}

/**
 * The methods each path is routed for (middleware, registered for every method, does not count), to
 * tell a wrong method from an unknown path. Built once, after every route is registered.
 */
function methodsOf(routes: ReadonlyArray<{ method: string; path: string }>): (path: string) => string[] {
  const router = new TrieRouter<string>();
  // Each route under ALL, carrying its method: one match then yields every method of the path.
  for (const r of routes) if (r.method !== 'ALL') router.add('ALL', r.path, r.method);
  return (path) => [...new Set(router.match('GET', path)[0].map(([method]) => method))];
}
