import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Endpoint, Surface } from '@watchllm/providers';
import { Hono, type Context } from 'hono';
import type { Deps } from '../deps.ts';
import { handleExchange } from '../pipeline/index.ts';

type Env = { Bindings: HttpBindings };

/**
 * The provider-facing routes. Their handlers write to the Node response directly (the proxy pipes bytes
 * and must control every write for streaming), so hono only routes here.
 */
export function proxyRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  const handle = (surface: Surface, endpoint: Endpoint) =>
    async function proxy(c: Context<Env>) {
      await handleExchange(deps, c.env.incoming, c.env.outgoing, surface, endpoint);
      return RESPONSE_ALREADY_SENT;
    };
  app.post('/v1/chat/completions', handle('openai', 'chat'));
  app.post('/v1/completions', handle('openai', 'completions'));
  app.post('/v1/embeddings', handle('openai', 'embeddings'));
  app.post('/v1/responses', handle('openai', 'responses'));
  // The Anthropic SDK lists models on the same path; its anthropic-version header tells them apart.
  const openaiModels = handle('openai', 'models');
  const anthropicModels = handle('anthropic', 'models');
  app.get('/v1/models', (c) => (c.env.incoming.headers['anthropic-version'] ? anthropicModels(c) : openaiModels(c)));
  app.post('/v1/messages', handle('anthropic', 'messages'));
  app.post('/v1/messages/count_tokens', handle('anthropic', 'count_tokens'));
  return app;
}
