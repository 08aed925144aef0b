import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FORM_ENDPOINTS, type Endpoint, type Price, type Surface } from '@watchllm/providers';
import { GatewayError, toGatewayError } from '../errors.ts';
import { createExchange, type Exchange } from '../exchange.ts';
import { readBody } from '../http/body.ts';
import { clientIp, one, readMeta } from '../http/headers.ts';
import { sendError } from '../http/respond.ts';
import type { Deps } from '../deps.ts';
import { MAX_BODY_DEPTH, nestsDeeper } from '../json.ts';
import type { CachedResponse, KeyRecord } from '../stores/index.ts';
import type { ConfiguredProvider } from '../registry.ts';
import { fillCache, planCache, serveCached, type CachePlan } from './cache.ts';
import { keepBackgroundReservation, keepStoredUsageOnce, settle } from './finish.ts';
import { requestedTimeout } from './forward.ts';
import { identify, presentedCredentials } from './identify.ts';
import { limitItems, requestsOnly, reserve, settleReservation, type Reservation } from './limits.ts';
import { isStoredResponse, parseModelPath, parseRequest, parseStoredResponse } from './parse.ts';
import { parseForm } from './parse-form.ts';
import { answerNamesModel } from './media.ts';
import { answerPolicies, applyRequestPolicies, applyStorage, recordAnswerPolicies } from './policies.ts';
import { route } from './route.ts';
import { exceptCurrent, fallbackChain } from './fallback.ts';
import { forwardWithFallbacks, type CallState } from './attempts.ts';
import { checkResponseOwner, recordResponseOwner, type Ownership } from './response-owner.ts';
import { retriesFor } from './retry.ts';
import { checkKeyScope } from './key-scope.ts';
import { priceOf } from './price.ts';

/**
 * Routes a balanced call to the first of its targets this surface can reach (an OpenAI model on the
 * Anthropic API is not), noting the ones skipped; the others are left for its fallback chain. The
 * exchange keeps the model the client asked for.
 */
function routeBalanced(
  x: Exchange,
  headers: IncomingMessage['headers'],
  deps: Deps,
  asked: string,
  targets: readonly string[],
): { cp: ConfiguredProvider; rest: string[] } {
  for (let i = 0; ; i++) {
    x.request.model = targets[i]!;
    try {
      const cp = route(x, headers, deps.registry);
      return { cp, rest: targets.slice(i + 1) };
    } catch (e) {
      if (!(e instanceof GatewayError) || i === targets.length - 1) throw e;
      x.attempts.push({ model: targets[i]!, result: 'skipped', provider: x.route?.provider ?? null, why: e.message });
      x.route = null;
    } finally {
      x.request.model = asked;
    }
  }
}

/**
 * One call, start to end. The stages run in this order (docs/ARCHITECTURE.md):
 *   parse -> route -> identify -> key scope -> policies -> stored response's owner -> cache lookup
 *   -> limits & budget reserve
 *   -> forward (upstream call, stream tap, respond) -> settle (tokens, cost, limits, cache fill)
 *   -> record (one event, always)
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
  let reservation: Reservation | null = null;
  let cachePlan: CachePlan | null = null;
  let capture: string[] | null = null;
  let price: Price | null = null;
  let key: KeyRecord | null = null;
  let ownership: Ownership | null = null;
  // Policies are read once per call: a hot reload never changes a call in flight.
  const policies = deps.policies.current;
  const creds = presentedCredentials(req.headers);
  try {
    readMeta(x, req.headers);
    // A stored response's calls (retrieve, delete, cancel, input items) have no body, and no model:
    // they route like the models list (x-watchllm-provider, else the default provider).
    const stored = parseStoredResponse(x);
    if (endpoint === 'models') parseModelPath(x);
    else if (FORM_ENDPOINTS.has(endpoint)) await parseForm(x, await readBody(req, deps.maxBodyBytes), one(req.headers['content-type']) ?? '');
    else if (stored === null) parseRequest(x, await readBody(req, deps.maxBodyBytes));
    // Load balancing (balance.ts) picks the target before routing, unless the caller named the
    // provider or brought its own provider key (that key is one account's, for one provider). A
    // form names its model in bytes forwarded as they are: it goes where that name routes.
    const asked = x.request.model;
    const balanceable =
      asked !== null && endpoint !== 'models' && endpoint !== 'count_tokens' && !FORM_ENDPOINTS.has(endpoint) && creds.providerKey === null && one(req.headers['x-watchllm-provider']) === null;
    const balanced = balanceable ? deps.balancer.pick(asked) : null;
    // recorded, checked and answered as the model the client asked for; routed to the target
    const { cp, rest } = balanced ? routeBalanced(x, req.headers, deps, asked!, [balanced.first, ...balanced.rest]) : { cp: route(x, req.headers, deps.registry), rest: [] };
    const who = await identify(x, creds, cp, {
      keys: deps.stores.keys,
      byokAllowed: deps.config.byok.allowed,
      box: deps.stores.box,
    });
    key = who.key;
    checkKeyScope(x, key, deps.registry.ids);
    let chain = fallbackChain(x, req.headers, deps.fallbacks, balanced && asked !== null ? { asked, rest } : undefined);
    const headersTimeoutMs = requestedTimeout(req.headers, deps.config.server.upstream_timeout_ms);
    const retries = retriesFor(req.headers, deps.config.retries);

    let target = cp;
    if (policies) {
      const tp = performance.now();
      if (applyRequestPolicies(x, policies)) {
        target = route(x, req.headers, deps.registry);
        // rewritten to a model of its chain: it is not tried twice
        chain = exceptCurrent(chain, x);
      }
      x.timings.push({ name: 'policy', dur: performance.now() - tp });
    }

    // A stored response (or the one a new response continues) made by another tenant: refused as
    // the provider refuses an id it does not hold, before anything is reserved or sent.
    if (x.endpoint === 'responses') ownership = await checkResponseOwner(deps.stores.marks, x, deps.log);

    price = priceOf(x, deps);
    const plan = limitItems(x, who.key, deps.config, deps.modelLimits, price);
    // The cache is looked up before limits are checked: a hit costs nothing, so it is checked
    // against request limits only, never refused by a spent budget or a full token window.
    cachePlan = planCache(x, req.headers, deps.config, who.key, () => answerPolicies(x, policies));
    let hit: CachedResponse | null = null;
    if (cachePlan?.lookup) {
      const tc = performance.now();
      hit = await deps.stores.cache.get(cachePlan.key);
      x.timings.push({ name: 'cache', dur: performance.now() - tc });
    }
    const t = performance.now();
    if (hit) {
      await reserve(x, deps.stores.limits, requestsOnly(plan), deps.config.budgets.soft_threshold, deps.settles);
      if (serveCached(x, res, hit, price, policies ? (text) => recordAnswerPolicies(x, policies, text) : null)) return;
      // Stored in a shape this call cannot be served from: a miss after all, checked in full.
      plan.items = plan.items.filter((i) => i.kind !== 'requests');
    }
    reservation = await reserve(x, deps.stores.limits, plan, deps.config.budgets.soft_threshold, deps.settles);
    if (reservation || hit) x.timings.push({ name: 'limits', dur: performance.now() - t });
    if (cachePlan) x.responseHeaders['x-watchllm-cache'] = 'miss';
    else if (x.cache?.status === 'bypass') x.responseHeaders['x-watchllm-cache'] = 'bypass';

    if (cachePlan && x.request.stream) capture = [];
    if (x.request.stream) deps.metrics.inFlightStreams.inc();
    // Fallbacks (attempts.ts) may move the call to other models: its reservation, price and cache
    // plan are then theirs, kept current in `call` for the end of the call.
    const call: CallState = { reservation, price, cachePlan, capture };
    try {
      const input = { req, target, apiKey: who.providerKey, chain, creds, key, policies, signal: abort.signal, headersTimeoutMs, retries, balanced: balanced ? { asked: asked!, targets: new Set(rest) } : null };
      await forwardWithFallbacks(deps, x, res, input, call);
    } finally {
      ({ reservation, price, cachePlan, capture } = call);
      if (x.request.stream) deps.metrics.inFlightStreams.dec();
    }
  } catch (e) {
    const err = tooDeep(e, x) ?? toGatewayError(e);
    if (err.code === 'internal_error') deps.log.error({ requestId: x.id, err: e }, 'unhandled error');
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
    let background: Reservation | null = null;
    if (x.response.usage !== null && isStoredResponse(x)) {
      // a finished background response's usage, recorded by the first call that sees it (finish.ts),
      // at the price of the model that answered it; what its call reserved is settled to it
      background = await keepStoredUsageOnce(deps.stores.marks, x, deps.log, ownership);
      price = priceOf(x, deps);
    }
    // a call that named no model is priced as the model its answer names (a moderation)
    if (answerNamesModel(x)) price = priceOf(x, deps);
    // a response this call made: whose it is (its stored-response calls are checked against it)
    if (x.response.responseId !== null) await recordResponseOwner(deps.stores.marks, x, deps.log);
    settle(x, price);
    if (background) settleReservation(deps.settles, background, x);
    else if (reservation) await keepBackgroundReservation(deps.stores.marks, x, reservation, deps.log);
    await afterResponse(deps, x, reservation, cachePlan, capture);
    applyStorage(x, policies, {
      keyStoresBodies: key?.storeBodies !== false,
      // A gateway key refused (or never looked up) may be any project's.
      callerKnown: x.auth.keyId !== null || creds.gatewayKey === null,
    });
    deps.metrics.observe(x);
    deps.sink.record(x);
  }
}

/** Settles limits and fills the cache; the client already has its answer, so failures are only logged. */
async function afterResponse(
  deps: Deps,
  x: Exchange,
  reservation: Reservation | null,
  cachePlan: CachePlan | null,
  capture: string[] | null,
): Promise<void> {
  try {
    if (reservation) settleReservation(deps.settles, reservation, x);
    if (cachePlan && x.outcome === 'success') {
      await fillCache(deps.stores.cache, cachePlan, x, {
        body: x.request.stream ? null : x.response.body,
        events: x.request.stream ? capture : null,
      });
    }
  } catch (e) {
    deps.log.warn({ requestId: x.id, err: e }, 'settling limits or filling the cache failed');
  }
}

/**
 * A body nested so deep that re-serialising it (routing, translation, policies) overflowed the stack:
 * the client's request, not a gateway failure, so a 400 rather than a 500 logged as a bug. Checked
 * only on that error path, descending at most MAX_BODY_DEPTH levels.
 */
function tooDeep(e: unknown, x: Exchange): GatewayError | null {
  if (!(e instanceof RangeError) || !/call stack/i.test(e.message) || !nestsDeeper(x.request.body, MAX_BODY_DEPTH)) return null;
  return GatewayError.invalid(`The request body nests more than ${MAX_BODY_DEPTH} levels deep.`, null, 'invalid_request');
}
