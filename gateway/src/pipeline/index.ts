import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compileGlob } from '@watchllm/policies';
import { priceFor, type Endpoint, type Price, type Surface } from '@watchllm/providers';
import { GatewayError, toGatewayError } from '../errors.ts';
import { createExchange, type Exchange } from '../exchange.ts';
import { readBody } from '../http/body.ts';
import { clientIp, one, passHeaders, readMeta } from '../http/headers.ts';
import { sendError } from '../http/respond.ts';
import type { Deps } from '../deps.ts';
import { nestsDeeper } from '../json.ts';
import type { ConfiguredProvider } from '../registry.ts';
import type { CompiledPolicySet } from '@watchllm/policies';
import type { CachedResponse, KeyRecord } from '../stores/index.ts';
import { fillCache, planCache, serveCached, type CachePlan } from './cache.ts';
import { settle } from './finish.ts';
import { forward, requestedTimeout } from './forward.ts';
import type { StreamBudget } from './respond-stream.ts';
import { identify, presentedCredentials, type PresentedCredentials } from './identify.ts';
import { limitItems, requestsOnly, reserve, settleReservation, type Reservation } from './limits.ts';
import { parseModelPath, parseRequest } from './parse.ts';
import { answerPolicies, applyRequestPolicies, applyStorage, recheckRequestPolicies } from './policies.ts';
import { route } from './route.ts';
import { AttemptFailed, fallbackChain } from './fallback.ts';

/**
 * One call, start to end. The stages run in this order (DESIGN.md):
 *   parse -> route -> identify -> key scope -> policies -> cache lookup -> limits & budget reserve
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
  // Policies are read once per call: a hot reload never changes a call in flight.
  const policies = deps.policies.current;
  const creds = presentedCredentials(req.headers);
  try {
    readMeta(x, req.headers);
    if (endpoint !== 'models') parseRequest(x, await readBody(req, deps.maxBodyBytes));
    else parseModelPath(x);
    const cp = route(x, req.headers, deps.registry);
    const who = await identify(x, creds, cp, {
      keys: deps.stores.keys,
      byokAllowed: deps.config.byok.allowed,
      box: deps.stores.box,
    });
    key = who.key;
    checkKeyScope(x, key);
    const chain = fallbackChain(x, req.headers, deps.fallbacks);
    const headersTimeoutMs = requestedTimeout(req.headers, deps.config.server.upstream_timeout_ms);

    let target = cp;
    if (policies) {
      const tp = performance.now();
      if (applyRequestPolicies(x, policies)) target = route(x, req.headers, deps.registry);
      x.timings.push({ name: 'policy', dur: performance.now() - tp });
    }

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
      if (serveCached(x, res, hit, price)) return;
      // Stored in a shape this call cannot be served from: a miss after all, checked in full.
      plan.items = plan.items.filter((i) => i.kind !== 'requests');
    }
    reservation = await reserve(x, deps.stores.limits, plan, deps.config.budgets.soft_threshold, deps.settles);
    if (reservation || hit) x.timings.push({ name: 'limits', dur: performance.now() - t });
    if (cachePlan) x.responseHeaders['x-watchllm-cache'] = 'miss';
    else if (x.cache?.status === 'bypass') x.responseHeaders['x-watchllm-cache'] = 'bypass';

    if (cachePlan && x.request.stream) capture = [];
    if (x.request.stream) deps.metrics.inFlightStreams.inc();
    try {
      let attempt: Try = { cp: target, apiKey: who.providerKey, reservation, price };
      // Fallbacks (fallback.ts): the last attempt that failed in a way another model may cure.
      let failed: { error: AttemptFailed; state: AttemptState; note: number } | null = null;
      for (let next = 0; ; ) {
        const candidate = next > 0;
        try {
          await forward(x, res, {
            cp: attempt.cp,
            policies,
            apiKey: attempt.apiKey,
            passHeaders: passHeaders(req.headers),
            upstream: deps.upstream,
            signal: abort.signal,
            capture,
            budget: deps.config.budgets.strict ? strictBudget(attempt.reservation, attempt.price, x) : null,
            keepBody: deps.keepBodies && key?.storeBodies !== false,
            log: deps.log,
            fallible: next < chain.length,
            headersTimeoutMs,
          });
          break;
        } catch (e) {
          if (abort.signal.aborted) throw e;
          if (e instanceof AttemptFailed) {
            failed = { error: e, state: saveState(x), note: x.attempts.length };
            x.attempts.push({ model: routeName(x), result: 'failed', provider: x.route?.provider ?? null, why: e.why });
          } else if (candidate && e instanceof GatewayError && x.upstream.sentAt === null) {
            // a fallback model this provider cannot take (a parameter it refuses): the next one
            x.attempts.push({ model: routeName(x), result: 'skipped', provider: x.route?.provider ?? null, why: e.message });
          } else {
            throw e;
          }
        }
        // The attempt answered nothing: its reservation is given back whole.
        if (attempt.reservation) settleReservation(deps.settles, attempt.reservation, x);
        reservation = null;
        // A fallback's answer is not cached under the first model's request.
        cachePlan = null;
        capture = null;
        let prepared: Try | null = null;
        while (prepared === null && next < chain.length) {
          const model = chain[next++]!;
          const before = saveState(x);
          try {
            prepared = await prepareFallback(deps, x, model, { creds, firstProvider: target.provider.id, policies });
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
            restoreState(x, before);
            x.attempts.push({ model, result: 'skipped', provider: null, why: e.message });
          }
        }
        if (prepared === null) {
          // Nothing left to try: the client gets what the last failure would have given it.
          if (!failed) throw new Error('fallback: no failed attempt to answer with');
          // The row is about that failure: its own columns say it, the attempts list what came before and after.
          restoreState(x, failed.state);
          x.attempts.splice(failed.note, 1);
          failed.error.answer();
          break;
        }
        attempt = prepared;
        reservation = prepared.reservation;
        price = prepared.price;
        x.responseHeaders['x-watchllm-fallback'] = routeName(x);
      }
    } finally {
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
    settle(x, price);
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

/**
 * The call's price: an override or the built-in table for its provider id, else the table of the
 * provider's kind (a second OpenAI account declared as `openai-eu` with `kind: openai` bills like
 * OpenAI instead of being recorded as unpriced).
 */
function priceOf(x: Exchange, deps: Deps): Price | null {
  if (!x.route) return null;
  const { provider, model } = x.route;
  const own = priceFor(provider, model, deps.prices);
  if (own) return own;
  const table = deps.registry.get(provider)?.priceTable;
  return table && table !== provider ? priceFor(table, model, deps.prices) : null;
}

/** One model's try at answering: the provider, the credential it takes, what it reserved and its price. */
interface Try {
  cp: ConfiguredProvider;
  apiKey: string | undefined;
  reservation: Reservation | null;
  price: Price | null;
}

const routeName = (x: Exchange): string => (x.route ? `${x.route.provider}/${x.route.model}` : String(x.request.model));

/** What trying a model changes on the exchange, so a model that cannot be tried leaves no trace. */
type AttemptState = Pick<Exchange, 'route' | 'upstream' | 'auth' | 'limits' | 'responseHeaders'> & {
  model: string | null;
  body: Exchange['request']['body'];
  raw: Exchange['request']['raw'];
};

function saveState(x: Exchange): AttemptState {
  return {
    model: x.request.model,
    body: x.request.body,
    raw: x.request.raw,
    route: x.route,
    upstream: { ...x.upstream },
    auth: { ...x.auth },
    limits: x.limits,
    responseHeaders: { ...x.responseHeaders },
  };
}

function restoreState(x: Exchange, s: AttemptState): void {
  x.request.model = s.model;
  x.request.body = s.body;
  x.request.raw = s.raw;
  x.route = s.route;
  x.upstream = { ...s.upstream };
  x.auth = { ...s.auth };
  x.limits = s.limits;
  x.responseHeaders = { ...s.responseHeaders };
}

/**
 * Readies the next model of a fallback chain through the checks a first model goes through: route
 * (by the name alone: x-watchllm-provider chose the first model's provider), credentials, the
 * gateway key's model scope, the request policies, and limits and budgets (the call was already
 * counted as a request: only per-model request limits count it again). A caller's own provider key
 * is only ever sent to the provider it is for. Throws a GatewayError saying why it cannot be tried.
 */
async function prepareFallback(
  deps: Deps,
  x: Exchange,
  model: string,
  ctx: { creds: PresentedCredentials; firstProvider: string; policies: CompiledPolicySet | null },
): Promise<Try> {
  x.request.model = model;
  x.upstream = { status: null, sentAt: null, headersAt: null, endedAt: null };
  const cp = route(x, {}, deps.registry);
  if (ctx.creds.providerKey !== null && cp.provider.id !== ctx.firstProvider) {
    throw GatewayError.invalid(`the caller's provider key is for '${ctx.firstProvider}', not '${cp.provider.id}'`);
  }
  const who = await identify(x, ctx.creds, cp, { keys: deps.stores.keys, byokAllowed: deps.config.byok.allowed, box: deps.stores.box });
  checkKeyScope(x, who.key);
  if (ctx.policies) recheckRequestPolicies(x, ctx.policies);
  const price = priceOf(x, deps);
  const plan = limitItems(x, who.key, deps.config, deps.modelLimits, price);
  plan.items = plan.items.filter((i) => i.kind !== 'requests' || i.scope === 'model');
  const reservation = await reserve(x, deps.stores.limits, plan, deps.config.budgets.soft_threshold, deps.settles);
  return { cp, apiKey: who.providerKey, reservation, price };
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
 * A strict budget ends a stream once it would cross the tightest budget: what the call reserved plus
 * what that budget had left beyond it when the call was admitted. (Not the reservation alone: a
 * stream without max_tokens reserves budgets.default_max_tokens, and may run longer while the
 * budget has room.)
 */
function strictBudget(r: Reservation | null, price: Price | null, x: Exchange): StreamBudget | null {
  if (!r || !price || !x.request.stream || !r.items.some((i) => i.kind === 'usd')) return null;
  return { capUsd: r.usd + r.headroomUsd, promptUsd: r.promptUsd, outputUsd: price.output / 1e6 };
}

/** Nesting no real request reaches (tool schemas nest a few dozen levels). */
const MAX_BODY_DEPTH = 512;

/**
 * A body nested so deep that re-serialising it (routing, translation, policies) overflowed the stack:
 * the client's request, not a gateway failure, so a 400 rather than a 500 logged as a bug. Checked
 * only on that error path, descending at most MAX_BODY_DEPTH levels.
 */
function tooDeep(e: unknown, x: Exchange): GatewayError | null {
  if (!(e instanceof RangeError) || !/call stack/i.test(e.message) || !nestsDeeper(x.request.body, MAX_BODY_DEPTH)) return null;
  return GatewayError.invalid(`The request body nests more than ${MAX_BODY_DEPTH} levels deep.`, null, 'invalid_request');
}

/** Compiled allowed-model globs of keys, by glob: key records are rebuilt per lookup, globs repeat. */
const allowedModelPatterns = new Map<string, RegExp>();

function allowedModelPattern(glob: string): RegExp {
  let re = allowedModelPatterns.get(glob);
  if (!re) {
    // keys are created at runtime: bound the memory, not the hit rate of a sane deployment
    if (allowedModelPatterns.size >= 10_000) allowedModelPatterns.clear();
    re = compileGlob(glob);
    allowedModelPatterns.set(glob, re);
  }
  return re;
}

/**
 * A gateway key may be limited to some models. Listing models uses none (GET /v1/models routes with
 * an empty model): the list is the provider's catalogue, open to every key.
 */
function checkKeyScope(x: Exchange, key: KeyRecord | null): void {
  if (!key?.allowedModels || !x.route) return;
  if (x.endpoint === 'models' && x.route.model === '') return;
  const model = x.route.model;
  const full = `${x.route.provider}/${model}`;
  const ok = key.allowedModels.some((g) => {
    const re = allowedModelPattern(g);
    return re.test(model) || re.test(full);
  });
  if (!ok) {
    throw new GatewayError({
      status: 403,
      type: 'permission_error',
      code: 'model_not_allowed',
      param: 'model',
      outcome: 'denied_policy',
      message: `This gateway key may not use model '${x.request.model}'.`,
    });
  }
}
