import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { errorBody, GatewayError } from './errors.ts';
import type { Deps } from './deps.ts';
import { opsRoutes, type ReadinessCheck } from './routes/ops.ts';
import { proxyRoutes } from './routes/proxy.ts';

/** The HTTP app: proxy routes, operations routes, and OpenAI-shaped answers for everything else. */
export function createApp(deps: Deps, opts: { checks: ReadonlyArray<ReadinessCheck>; draining: () => boolean }): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.route('/', proxyRoutes(deps));
  app.route('/', opsRoutes({ metrics: deps.metrics, checks: opts.checks, draining: opts.draining }));
  app.notFound((c) => {
    const err = new GatewayError({
      status: 404,
      type: 'invalid_request_error',
      code: 'unknown_url',
      message: `Invalid URL (${c.req.method} ${c.req.path})`,
    });
    return c.json(errorBody(err, 'openai'), 404);
  });
  app.onError((e, c) => {
    deps.log.error({ err: e, path: c.req.path }, 'unhandled route error');
    const err = e instanceof GatewayError ? e : new GatewayError({ status: 500, type: 'api_error', code: 'internal_error', message: 'Internal gateway error.' });
    return c.json(errorBody(err, 'openai'), err.status as 500);
  });
  return app;
}
