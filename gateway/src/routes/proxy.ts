import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoint, Surface } from '@watchllm/providers';
import type { Deps } from '../deps.ts';
import { handleExchange } from '../pipeline/index.ts';
import { ONE_MODEL, pathOf, storedResponseRoute } from '../pipeline/parse.ts';

type Route = { surface: Surface; endpoint: Endpoint };

/** The provider-facing routes: `METHOD path` -> surface and endpoint. */
const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['POST /v1/chat/completions', { surface: 'openai', endpoint: 'chat' }],
  ['POST /v1/completions', { surface: 'openai', endpoint: 'completions' }],
  ['POST /v1/embeddings', { surface: 'openai', endpoint: 'embeddings' }],
  ['POST /v1/responses', { surface: 'openai', endpoint: 'responses' }],
  ['GET /v1/models', { surface: 'openai', endpoint: 'models' }],
  ['POST /v1/messages', { surface: 'anthropic', endpoint: 'messages' }],
  ['POST /v1/messages/count_tokens', { surface: 'anthropic', endpoint: 'count_tokens' }],
  ['POST /v1/moderations', { surface: 'openai', endpoint: 'moderations' }],
  ['POST /v1/images/generations', { surface: 'openai', endpoint: 'images' }],
  ['POST /v1/audio/speech', { surface: 'openai', endpoint: 'speech' }],
  ['POST /v1/audio/transcriptions', { surface: 'openai', endpoint: 'transcriptions' }],
  ['POST /v1/audio/translations', { surface: 'openai', endpoint: 'translations' }],
]);

const OPENAI_MODELS: Route = { surface: 'openai', endpoint: 'models' };
const STORED_RESPONSE: Route = { surface: 'openai', endpoint: 'responses' };
const ANTHROPIC_MODELS: Route = { surface: 'anthropic', endpoint: 'models' };

// GET /v1/models/{model} (the SDKs' `models.retrieve`): the `models` endpoint with a model, which
// the pipeline reads from the path (parseModelPath). The id may hold slashes, encoded or not.
// The Responses API's stored-response routes (`responses.retrieve`, `delete`, `cancel`,
// `inputItems.list`): the `responses` endpoint on the response the path names (parseStoredResponse).
/** Every proxied `METHOD path`, so the hono app can tell a wrong method (405) from an unknown path (404). */
export const PROXIED: ReadonlyArray<{ method: string; path: string }> = [
  ...[...ROUTES.keys()].map((k) => {
    const [method = '', path = ''] = k.split(' ');
    return { method, path };
  }),
  { method: 'GET', path: `${ONE_MODEL}*` },
  { method: 'GET', path: '/v1/responses/:id' },
  { method: 'DELETE', path: '/v1/responses/:id' },
  { method: 'POST', path: '/v1/responses/:id/cancel' },
  { method: 'GET', path: '/v1/responses/:id/input_items' },
];

/**
 * The surface a request that matched no route was meant for, so its 404 or 405 comes in the shape its
 * SDK parses: everything under /v1/messages is Anthropic's, and the Anthropic SDK sends
 * anthropic-version on every call (the same tell as for /v1/models).
 */
export function surfaceOf(path: string, anthropicVersion: boolean): Surface {
  if (anthropicVersion || path === '/v1/messages' || path.startsWith('/v1/messages/')) return 'anthropic';
  return 'openai';
}

/** The route of a proxied call, or null for everything else (hono's routes). */
export function proxyRoute(req: IncomingMessage): Route | null {
  const path = pathOf(req.url ?? '/');
  const route =
    ROUTES.get(`${req.method} ${path}`) ??
    (req.method === 'GET' && path.startsWith(ONE_MODEL) ? OPENAI_MODELS : undefined) ??
    (storedResponseRoute(req.method, path) ? STORED_RESPONSE : undefined);
  if (!route) return null;
  // The Anthropic SDK lists and retrieves models on the same paths; its anthropic-version header tells them apart.
  if (route.endpoint === 'models' && req.headers['anthropic-version'] !== undefined) return ANTHROPIC_MODELS;
  return route;
}

/**
 * The HTTP listener: proxied calls go straight to the pipeline, everything else (operations, admin,
 * events) to the hono app. The pipeline writes to the Node response itself — a streaming proxy must
 * control every write (flush per event, backpressure, abort on close) — so routing these few fixed
 * paths through a framework and its web Request/Response objects would only add cost to every call.
 */
export function proxyListener(
  deps: Deps,
  rest: (req: IncomingMessage, res: ServerResponse) => unknown,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function watchllm(req, res) {
    const route = proxyRoute(req);
    if (route === null) {
      void rest(req, res);
      return;
    }
    handleExchange(deps, req, res, route.surface, route.endpoint).catch((e: unknown) => {
      // handleExchange answers every error itself; reaching here is a bug.
      deps.log.error({ err: e }, 'unhandled proxy error');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"Internal gateway error.","type":"api_error","param":null,"code":"internal_error"}}');
    });
  };
}
