import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Price } from '@watchllm/providers';
import type { CompiledPolicySet } from '@watchllm/policies';
import type { Deps } from '../deps.ts';
import { clientClosedError, GatewayError, isShutdownAbort, shutdownError } from '../errors.ts';
import { attemptUpstreamMs, upstreamMs, type Exchange } from '../exchange.ts';
import { passHeaders } from '../http/headers.ts';
import type { ConfiguredProvider } from '../registry.ts';
import type { KeyRecord } from '../stores/index.ts';
import type { CachePlan } from './cache.ts';
import { AttemptFailed } from './fallback.ts';
import { forward } from './forward.ts';
import { identify, type PresentedCredentials } from './identify.ts';
import { checkKeyScope } from './key-scope.ts';
import { limitItems, reserve, settleReservation, type Reservation } from './limits.ts';
import { applyRequestPolicies } from './policies.ts';
import { priceOf, strictBudget } from './price.ts';
import { retryDelayMs } from './retry.ts';
import { route } from './route.ts';

/** What the call holds that its end (settle, cache fill) needs, kept current across attempts. */
export interface CallState {
  reservation: Reservation | null;
  price: Price | null;
  cachePlan: CachePlan | null;
  capture: string[] | null;
}

export interface AttemptsInput {
  req: IncomingMessage;
  /** the first model's provider and the credential it takes */
  target: ConfiguredProvider;
  apiKey: string | undefined;
  /** the models to try after it (fallback.ts) */
  chain: readonly string[];
  creds: PresentedCredentials;
  key: KeyRecord | null;
  policies: CompiledPolicySet | null;
  signal: AbortSignal;
  headersTimeoutMs: number | null;
  /** retries per model (retry.ts) */
  retries: number;
  /** a balanced call: the model the client asked for, which its other targets are recorded and checked as */
  balanced: { asked: string; targets: ReadonlySet<string> } | null;
}

/** One model's try: the provider and the credential it takes. */
interface Try {
  cp: ConfiguredProvider;
  apiKey: string | undefined;
}

/** A fallback model ready to try: what it reserved and its price too. */
type Prepared = Try & { reservation: Reservation | null; price: Price | null };

/**
 * Forwards the call to its model; while that fails in a way that passes, tries the model again after
 * a wait (`input.retries` times at most, retry.ts), then the next model of its chain (fallbacks),
 * with retries of its own. Every try that does not answer is noted in `x.attempts`, in order; when
 * none answers, the client gets the last failure a retry or fallback could have cured, as it would
 * have without them, and the exchange describes that try. A retry keeps the model's reservation
 * (it is the same call to the same model); the waits count as upstream time.
 */
export async function forwardWithFallbacks(
  deps: Deps,
  x: Exchange,
  res: ServerResponse,
  input: AttemptsInput,
  state: CallState,
): Promise<void> {
  const { chain, signal } = input;
  const pass = passHeaders(input.req.headers);
  // each fallback's policies start from the body as the first model's left it
  const baseBody = x.request.body;
  let attempt: Try = { cp: input.target, apiKey: input.apiKey };
  let failed: { error: AttemptFailed; state: AttemptState; index: number } | null = null;
  let spentMs = 0;
  // the exchange as the current model's first try found it, to start each retry from
  let modelStart = saveState(x);
  let tries = 0;
  let retried = 0;
  for (let next = 0; ; ) {
    const candidate = next > 0;
    try {
      await forward(x, res, {
        cp: attempt.cp,
        policies: input.policies,
        apiKey: attempt.apiKey,
        passHeaders: pass,
        upstream: deps.upstream,
        signal,
        capture: state.capture,
        budget: deps.config.budgets.strict ? strictBudget(state.reservation, state.price, x) : null,
        keepBody: deps.keepBodies && input.key?.storeBodies !== false,
        log: deps.log,
        fallible: next < chain.length || tries < input.retries,
        candidate,
        headersTimeoutMs: input.headersTimeoutMs,
        price: state.price,
      });
      return;
    } catch (e) {
      if (signal.aborted) throw e instanceof AttemptFailed ? abortedError(signal) : e;
      if (e instanceof AttemptFailed) {
        if (e.retryable) failed = { error: e, state: saveState(x), index: x.attempts.length };
        const waitMs = tries < input.retries && e.retry.transient ? retryDelayMs(tries + 1, deps.config.retries, e.retry.afterMs) : null;
        const provider = x.route?.provider ?? null;
        if (waitMs !== null) {
          const waitStart = performance.now();
          try {
            await sleep(waitMs, undefined, { signal });
          } catch (err) {
            if (!signal.aborted) throw err;
            // the call ends here (client gone, or shutdown): no retry happened; what was waited is upstream time
            x.upstream.earlierMs = (x.upstream.earlierMs ?? 0) + (performance.now() - waitStart);
            x.attempts.push({ model: routeName(x), result: 'failed', provider, why: e.why, kind: e.kind, abandoned: true });
            throw abortedError(signal);
          }
          x.attempts.push({ model: routeName(x), result: 'retried', provider, why: e.why, kind: e.kind, waitMs });
          spentMs = (upstreamMs(x.upstream) ?? spentMs) + waitMs;
          tries++;
          retried++;
          restoreState(x, modelStart);
          x.upstream.earlierMs = spentMs;
          x.responseHeaders['x-watchllm-retries'] = String(retried);
          continue;
        }
        // no retry left and no chain: the client gets this failure, as it would without retries
        if (chain.length === 0 && e.retryable) return e.answer();
        x.attempts.push({ model: routeName(x), result: 'failed', provider, why: e.why, kind: e.kind });
      } else if (candidate && e instanceof GatewayError && x.upstream.sentAt === null) {
        // a fallback model this provider cannot take (a parameter it refuses): the next one
        x.attempts.push({ model: routeName(x), result: 'skipped', provider: x.route?.provider ?? null, why: e.message });
      } else {
        throw e;
      }
    }
    spentMs = upstreamMs(x.upstream) ?? spentMs;
    // The attempt answered nothing: its reservation is given back whole.
    if (state.reservation) settleReservation(deps.settles, state.reservation, x);
    state.reservation = null;
    // A fallback's answer is not cached under the first model's request.
    state.cachePlan = null;
    state.capture = null;
    let prepared: Prepared | null = null;
    while (prepared === null && next < chain.length) {
      const model = chain[next++]!;
      const before = saveState(x);
      try {
        const recordAs = input.balanced?.targets.has(model) ? input.balanced.asked : model;
        prepared = await prepareFallback(deps, x, model, recordAs, { creds: input.creds, firstProvider: input.target.provider.id, policies: input.policies, baseBody, spentMs });
      } catch (e) {
        if (!(e instanceof GatewayError)) throw e;
        // named as routed when it got that far, else as the chain names it
        const skipped = { model: x.route ? routeName(x) : model, provider: x.route?.provider ?? null };
        restoreState(x, before);
        x.attempts.push({ ...skipped, result: 'skipped', why: e.message });
      }
    }
    if (prepared === null) {
      if (signal.aborted) throw abortedError(signal);
      // Nothing left to try: the client gets the last failure a fallback could have cured.
      if (!failed) throw new Error('fallback: no failed attempt to answer with');
      const own = attemptUpstreamMs(failed.state.upstream);
      restoreState(x, failed.state);
      x.upstream.earlierMs = Math.max(0, spentMs - own);
      x.attempts[failed.index]!.own = true;
      // the failure answered may be from before later retries: the header counts them all
      if (retried > 0) x.responseHeaders['x-watchllm-retries'] = String(retried);
      failed.error.answer();
      return;
    }
    attempt = prepared;
    state.reservation = prepared.reservation;
    state.price = prepared.price;
    x.responseHeaders['x-watchllm-fallback'] = routeName(x);
    modelStart = saveState(x);
    tries = 0;
  }
}

/** Why a call whose signal fired ends: the gateway's shutdown (503, worth retrying elsewhere) or the client leaving. */
const abortedError = (signal: AbortSignal): GatewayError => (isShutdownAbort(signal.reason) ? shutdownError() : clientClosedError());

const REQUEST_HEADERS = ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'] as const;

const routeName = (x: Exchange): string => (x.route ? `${x.route.provider}/${x.route.model}` : String(x.request.model));

/** What trying a model changes on the exchange, so a model that cannot be tried leaves no trace. */
type AttemptState = Pick<Exchange, 'route' | 'upstream' | 'auth' | 'limits' | 'responseHeaders' | 'policies'> & {
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
    policies: x.policies,
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
  x.policies = s.policies;
  x.responseHeaders = { ...s.responseHeaders };
}

/**
 * Readies the next model of a fallback chain through the checks a first model goes through: route
 * (by the name alone: x-watchllm-provider chose the first model's provider), the request policies
 * (from the body as the first model's left it, seeing the model's name and where it is routed; a
 * `set_model` rewrite names the model to route instead), credentials, the gateway key's model scope,
 * and limits and budgets (the call was already counted as a request: only per-model request limits
 * count it again). A caller's own provider key is only ever sent to the provider it is for. A
 * balanced call's other target is recorded and checked as the name the client asked for
 * (`recordAs`), like the first. Throws a GatewayError saying why the model cannot be tried.
 */
async function prepareFallback(
  deps: Deps,
  x: Exchange,
  model: string,
  recordAs: string,
  ctx: {
    creds: PresentedCredentials;
    firstProvider: string;
    policies: CompiledPolicySet | null;
    baseBody: Exchange['request']['body'];
    spentMs: number;
  },
): Promise<Prepared> {
  x.request.model = model;
  // what is sent (and stored) names the model it is sent to
  x.request.body = ctx.baseBody === null ? null : { ...ctx.baseBody, model };
  x.request.raw = x.request.body === null ? null : JSON.stringify(x.request.body);
  x.route = null;
  x.upstream = { status: null, sentAt: null, headersAt: null, endedAt: null, earlierMs: ctx.spentMs };
  let cp = route(x, {}, deps.registry);
  x.request.model = recordAs;
  if (ctx.policies && applyRequestPolicies(x, ctx.policies)) cp = route(x, {}, deps.registry);
  if (ctx.creds.providerKey !== null && cp.provider.id !== ctx.firstProvider) {
    throw GatewayError.invalid(`the caller's provider key is for '${ctx.firstProvider}', not '${cp.provider.id}'`);
  }
  const who = await identify(x, ctx.creds, cp, { keys: deps.stores.keys, byokAllowed: deps.config.byok.allowed, box: deps.stores.box });
  checkKeyScope(x, who.key);
  const price = priceOf(x, deps);
  const plan = limitItems(x, who.key, deps.config, deps.modelLimits, price);
  plan.items = plan.items.filter((i) => i.kind !== 'requests' || i.scope === 'model');
  const counted = REQUEST_HEADERS.map((h) => x.responseHeaders[h]);
  const reservation = await reserve(x, deps.stores.limits, plan, deps.config.budgets.soft_threshold, deps.settles);
  // The first model counted the call against its key's, user's and project's request limits: the
  // request headers keep the tightest of those unless this model's own is tighter.
  const remaining = x.responseHeaders[REQUEST_HEADERS[1]];
  if (counted[1] !== undefined && !(remaining !== undefined && Number(remaining) < Number(counted[1]))) {
    REQUEST_HEADERS.forEach((h, i) => (x.responseHeaders[h] = counted[i]!));
  }
  return { cp, apiKey: who.providerKey, reservation, price };
}
