import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoint, Surface } from '@watchllm/providers';
import { toGatewayError } from '../errors.ts';
import { createExchange } from '../exchange.ts';
import { readBody } from '../http/body.ts';
import { clientIp, one, passHeaders, readMeta } from '../http/headers.ts';
import { sendError } from '../http/respond.ts';
import type { Deps } from '../deps.ts';
import { settle } from './finish.ts';
import { forward } from './forward.ts';
import { identify, presentedCredentials } from './identify.ts';
import { parseRequest } from './parse.ts';
import { route } from './route.ts';

/**
 * One call, start to end. The stages run in this order (DESIGN.md):
 *   parse -> route -> identify -> [policies, limits, cache: later stages] -> forward (upstream call,
 *   stream tap, respond) -> settle (tokens, cost) -> record (one event, always)
 */
export async function handleExchange(
  deps: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  surface: Surface,
  endpoint: Endpoint,
): Promise<void> {
  const x = createExchange({
    id: randomUUID(),
    surface,
    endpoint,
    method: req.method ?? 'POST',
    path: req.url ?? '',
    ip: clientIp(req.socket.remoteAddress, req.headers, deps.config.server.trust_proxy),
    userAgent: one(req.headers['user-agent']),
    now: Date.now(),
    t0: performance.now(),
  });
  const abort = new AbortController();
  // The client went away: stop the upstream call too (no tokens paid for an answer nobody reads).
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  deps.inFlight.add(abort);
  deps.metrics.inFlight.inc();
  try {
    readMeta(x, req.headers);
    if (endpoint !== 'models') parseRequest(x, await readBody(req, deps.maxBodyBytes));
    const cp = route(x, req.headers, deps.registry);
    const apiKey = await identify(x, presentedCredentials(req.headers), cp, { keys: deps.keys, byokAllowed: deps.config.byok.allowed });
    if (x.request.stream) deps.metrics.inFlightStreams.inc();
    try {
      await forward(x, res, { cp, apiKey, passHeaders: passHeaders(req.headers), upstream: deps.upstream, signal: abort.signal });
    } finally {
      if (x.request.stream) deps.metrics.inFlightStreams.dec();
    }
  } catch (e) {
    const err = toGatewayError(e);
    if (err.outcome === 'internal_error') deps.log.error({ requestId: x.id, err: e }, 'unhandled error');
    if (abort.signal.aborted && res.destroyed) x.outcome = 'client_closed';
    else sendError(res, x, err);
    // An unread oversized body would otherwise keep the socket busy; the 413 said connection: close.
    if (err.status === 413) req.resume();
  } finally {
    res.off('close', onClose);
    deps.inFlight.delete(abort);
    deps.metrics.inFlight.dec();
    if (x.outcome === 'success' && res.destroyed && !res.writableFinished) x.outcome = 'client_closed';
    if (x.outcome === 'client_closed' && x.response.status === 0) x.response.status = 499;
    settle(x, deps.prices);
    deps.metrics.observe(x);
    deps.sink.record(x);
  }
}
