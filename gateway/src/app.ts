import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { adminAuth } from './admin-auth.ts';
import type { Deps } from './deps.ts';
import { errorBody, GatewayError } from './errors.ts';
import { eventRoutes, type ClickHouseClient, type EventWriter } from './events/index.ts';
import { ingestIdentity, type IngestIdentity } from './ingest-auth.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { opsRoutes, type ReadinessCheck } from './routes/ops.ts';

type Env = { Bindings: HttpBindings; Variables: { identity: IngestIdentity } };

/**
 * The HTTP app for everything but the proxied calls (routes/proxy.ts): operations routes, the admin
 * API (behind WATCHLLM_ADMIN_TOKEN), the event query and ingest API, and OpenAI-shaped answers for
 * everything else.
 */
export function createApp(
  deps: Deps,
  opts: {
    checks: ReadonlyArray<ReadinessCheck>;
    draining: () => boolean;
    events: { client: ClickHouseClient; writer: EventWriter } | null;
  },
): Hono<Env> {
  const app = new Hono<Env>();
  app.route('/', opsRoutes({ metrics: deps.metrics, checks: opts.checks, draining: opts.draining }));

  app.use('/admin/*', adminAuth(deps.config.admin_token));
  app.route('/', adminKeyRoutes({ keys: deps.stores.keys }));
  if (opts.events) {
    app.use('/v1/events', ingestIdentity(deps));
    app.route('/', eventRoutes({ client: opts.events.client, writer: opts.events.writer, identify: (c) => c.get('identity') }));
  }

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
