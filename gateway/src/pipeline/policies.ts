import {
  answerPolicyTag,
  createResponseScanner,
  createStreamFilters,
  evaluateRequest,
  evaluateResponse,
  outcomeOf,
  redactText,
  type CallContext,
  type CompiledPolicySet,
  type Decision,
  type EndpointName,
  type ResponseDecision,
  type StreamFilters,
} from '@watchllm/policies';
import { answerText } from '../answer-text.ts';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';

/** What the policies saw of this call: who, which model, which endpoint. */
function context(x: Exchange): CallContext {
  return {
    // Counting tokens sends the same messages to the provider: the same rules apply.
    endpoint: (x.endpoint === 'count_tokens' ? 'messages' : x.endpoint) as EndpointName,
    model: x.request.model ?? '',
    meta: {
      project: x.auth.project,
      keyId: x.auth.keyId,
      user: x.meta.user,
      session: x.meta.session,
      properties: x.meta.properties,
    },
  };
}

const RANK = { allowed: 0, flagged: 1, redacted: 2, denied: 3 } as const;

function record(x: Exchange, d: Decision | ResponseDecision): void {
  merge(x, outcomeOf(d), d.matches, d.stored);
}

/** Adds a stage's decision to the exchange: the strongest outcome and the strictest storage win. */
function merge(x: Exchange, outcome: keyof typeof RANK, matches: readonly unknown[], stored: 'keep' | 'redact' | 'drop'): void {
  const prev = x.policies;
  x.policies = {
    outcome: prev && RANK[prev.outcome] > RANK[outcome] ? prev.outcome : outcome,
    matches: [...(prev?.matches ?? []), ...matches],
    stored: strictest(prev?.stored ?? 'keep', stored),
  };
}

function strictest(a: 'keep' | 'redact' | 'drop', b: 'keep' | 'redact' | 'drop'): 'keep' | 'redact' | 'drop' {
  const order = { keep: 0, redact: 1, drop: 2 } as const;
  return order[a] >= order[b] ? a : b;
}

function denied(d: { policy: string; reason: string; status: 400 | 403 }): GatewayError {
  return new GatewayError({
    status: d.status,
    type: d.status === 403 ? 'permission_error' : 'invalid_request_error',
    code: 'policy_denied',
    outcome: 'denied_policy',
    message: d.reason,
  });
}

/**
 * Before the request leaves: deny (400/403 naming the policy, never the matched text), or send a
 * redacted / rewritten body. Returns true when a rewrite changed the model (the call must be re-routed).
 */
export function applyRequestPolicies(x: Exchange, set: CompiledPolicySet): boolean {
  if (x.request.body === null) return false;
  const d = evaluateRequest(set, { ...context(x), body: x.request.body });
  record(x, d);
  if (d.kind === 'deny') throw denied(d);
  if (d.kind !== 'modify') return false;
  x.request.body = d.body;
  // What is sent (and stored) from now on is the redacted body.
  x.request.raw = JSON.stringify(d.body);
  const model = d.body['model'];
  if (typeof model === 'string' && model !== x.request.model) {
    x.request.model = model;
    return true;
  }
  return false;
}

/** The post-response policies that treat this call's answer, for the cache key ('' for none). */
export function answerPolicies(x: Exchange, set: CompiledPolicySet | null): string {
  return set ? answerPolicyTag(set, context(x)) : '';
}

/** After a complete answer, before the client sees it: deny, redact, or pass. */
export function checkJsonAnswer(x: Exchange, set: CompiledPolicySet, out: unknown): unknown {
  const body = out !== null && typeof out === 'object' ? (out as Record<string, unknown>) : undefined;
  const d = evaluateResponse(set, { ...context(x), text: answerText(out), ...(body ? { body } : {}) });
  record(x, d);
  if (d.kind === 'deny') throw denied(d);
  return d.kind === 'modify' && d.body ? d.body : out;
}

/** Watches a stream's text as it goes out; `push` says when a deny policy wants it cut. */
export interface StreamGuard {
  push(delta: string): void;
  /** Before forwarding what was pushed: the reason to cut the stream, or null. */
  check(): string | null;
  finish(): void;
  /**
   * Set when an enforced redact or deny policy applies: the answer text then goes out through these
   * (held back while it could still become a match).
   */
  filters: StreamFilters | null;
}

export function streamGuard(x: Exchange, set: CompiledPolicySet): StreamGuard | null {
  if (!set.policies.some((p) => p.post && p.action !== null)) return null;
  const ctx = context(x);
  const filters = createStreamFilters(set, ctx);
  const scanner = createResponseScanner(set, ctx, { redacted: filters?.redacts ?? false });
  return {
    filters,
    push(delta) {
      scanner.push(delta);
    },
    check() {
      const step = scanner.check();
      return step.cut ? (step.reason ?? `denied by policy "${step.policy ?? 'unknown'}"`) : null;
    },
    finish() {
      const r = scanner.finish();
      merge(x, r.cut ? 'denied' : r.matches.length > 0 ? 'flagged' : 'allowed', r.matches, 'keep');
    },
  };
}

/**
 * What is stored, independent of what was sent: redact or drop the bodies when a policy says so, and
 * drop them for a gateway key that keeps none (`storeBodies: false`).
 */
export function applyStorage(x: Exchange, set: CompiledPolicySet | null, keyStoresBodies = true): void {
  const mode = keyStoresBodies ? (x.policies?.stored ?? 'keep') : 'drop';
  if (mode === 'drop') {
    x.request.raw = null;
    x.response.body = null;
  } else if (mode === 'redact' && set) {
    if (x.request.raw) x.request.raw = redactText(set, x.request.raw);
    if (x.response.body) x.response.body = redactText(set, x.response.body);
  }
}
