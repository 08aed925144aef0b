import {
  answerPolicyTag,
  createResponseScanner,
  createStreamFilters,
  evaluateRequest,
  evaluateResponse,
  outcomeOf,
  Placeholders,
  redactText,
  type CallContext,
  type CompiledPolicySet,
  type Decision,
  type EndpointName,
  type ResponseDecision,
  type ResponseScanner,
  type RuleMatch,
  type StoredMode,
  type StreamFilters,
  watchesAnswers,
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
    // a balanced call's target, or whatever routing made of the name: model rules see both
    routed: x.route && x.route.model !== '' ? `${x.route.provider}/${x.route.model}` : undefined,
    meta: {
      project: x.auth.project,
      keyId: x.auth.keyId,
      user: x.meta.user,
      session: x.meta.session,
      properties: x.meta.properties,
    },
  };
}

/**
 * Each call's placeholders, shared by its request and answer policies: what the prompt sent as
 * `[EMAIL_1]` keeps that name in the answer, and a new address there becomes `[EMAIL_2]`.
 */
const callPlaceholders = new WeakMap<Exchange, Placeholders>();

function placeholdersOf(x: Exchange): Placeholders {
  let p = callPlaceholders.get(x);
  if (p === undefined) callPlaceholders.set(x, (p = new Placeholders()));
  return p;
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
 *
 * A fallback model goes through it again (attempts.ts), from the body as the first model's policies
 * left it: a deny (a model deny list, say) rules that model out, a redaction or rewrite applies to
 * what is sent to it, and what it matched and how bodies may be stored are recorded with the call;
 * matches the call already recorded are not repeated.
 */
export function applyRequestPolicies(x: Exchange, set: CompiledPolicySet): boolean {
  if (x.request.body === null) return false;
  const d = evaluateRequest(set, { ...context(x), body: x.request.body, placeholders: placeholdersOf(x) });
  const seen = new Set((x.policies?.matches ?? []).map((m) => JSON.stringify(m)));
  merge(x, outcomeOf(d), seen.size === 0 ? d.matches : d.matches.filter((m) => !seen.has(JSON.stringify(m))), d.stored);
  if (d.kind === 'deny') throw denied(d);
  if (d.kind !== 'modify') return false;
  if (x.request.form) throw formNotRewritten(d.matches);
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

/**
 * A redaction or rewrite of a multipart form (a transcription's `prompt`, its `model`): the form is
 * forwarded as the client's bytes, which the gateway does not re-encode, so a policy that would
 * change it refuses the call instead of letting the unchanged text through.
 */
function formNotRewritten(matches: readonly RuleMatch[]): GatewayError {
  const changing = matches.filter((m) => m.mode === 'enforce' && (m.action === 'redact' || m.action === 'rewrite'));
  const names = [...new Set((changing.length > 0 ? changing : matches).map((m) => m.policy))].join('", "');
  return new GatewayError({
    status: 400,
    type: 'invalid_request_error',
    code: 'policy_denied',
    outcome: 'denied_policy',
    message: `Policy "${names}" would change this multipart/form-data request, which the gateway forwards unchanged; the call is refused rather than sent as it is.`,
  });
}

/** The post-response policies that treat this call's answer, for the cache key ('' for none). */
export function answerPolicies(x: Exchange, set: CompiledPolicySet | null): string {
  return set ? answerPolicyTag(set, context(x)) : '';
}

/**
 * After a complete answer, before the client sees it: deny, redact, or pass. Each text of the
 * answer (a choice, its reasoning, a content block) is scanned on its own: the separator keeps the
 * end of one from hiding a secret at the start of the next.
 */
export function checkJsonAnswer(x: Exchange, set: CompiledPolicySet, out: unknown): unknown {
  const body = out !== null && typeof out === 'object' ? (out as Record<string, unknown>) : undefined;
  const ctx = context(x);
  const d = evaluateResponse(set, { ...ctx, text: answerText(out), ...(body ? { body } : {}), placeholders: placeholdersOf(x) });
  record(x, d);
  if (d.kind === 'deny') throw denied(d);
  const checked = d.kind === 'modify' && d.body ? d.body : out;
  return answerPolicyTag(set, ctx) !== '' ? withoutLogprobs(checked) : checked;
}

/**
 * A stored answer served from the cache: what the answer policies find in its text is recorded
 * (an enforced flag, a rule in shadow mode). Nothing is changed or refused: the policies that change
 * answers are part of the cache key, so the stored answer already went through them.
 */
export function recordAnswerPolicies(x: Exchange, set: CompiledPolicySet, text: string): void {
  const d = evaluateResponse(set, { ...context(x), text });
  // a match that would deny or mask (it cannot, normally) changed nothing here: at most a flag
  if (d.matches.length > 0) merge(x, d.kind === 'allow' ? outcomeOf(d) : 'flagged', d.matches, d.stored);
}

/**
 * Logprobs repeat the answer token by token (`jane`, `@exa`, `mple.com`), beside text a policy
 * masked or checked: an answer an enforced redact or deny policy treats goes out without them
 * (chat and completions `logprobs: null`, Responses output_text `logprobs: []`, the types each
 * API gives them). Returns `body` itself when it has none.
 */
export function withoutLogprobs(body: unknown): unknown {
  if (body === null || typeof body !== 'object') return body;
  const o = body as Record<string, unknown>;
  let out = o;
  const choices = o['choices'];
  if (Array.isArray(choices) && choices.some((c) => isRecord(c) && c['logprobs'] != null)) {
    out = { ...out, choices: choices.map((c) => (isRecord(c) && c['logprobs'] != null ? { ...c, logprobs: null } : c)) };
  }
  const output = o['output'];
  if (Array.isArray(output)) {
    const items = output.map((item) => {
      const parts = partsWithLogprobs(item);
      return parts === null ? item : { ...(item as Record<string, unknown>), content: parts };
    });
    if (items.some((item, i) => item !== output[i])) out = { ...out, output: items };
  }
  return out;
}

/** A Responses output item's content parts with their logprobs emptied, or null when none has any. */
function partsWithLogprobs(item: unknown): unknown[] | null {
  const content = isRecord(item) ? item['content'] : undefined;
  if (!Array.isArray(content)) return null;
  const has = (p: unknown) => isRecord(p) && Array.isArray(p['logprobs']) && p['logprobs'].length > 0;
  if (!content.some(has)) return null;
  return content.map((p) => (has(p) ? { ...(p as object), logprobs: [] } : p));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Watches a stream's texts as they go out; `check` says when a deny policy wants it cut. */
export interface StreamGuard {
  /** A piece of text `key` (a choice, a content block, a reasoning summary: see StreamTap's OnText). */
  push(delta: string, key: number): void;
  /** Before forwarding what was pushed: the reason to cut the stream, or null. */
  check(): string | null;
  finish(): void;
  /**
   * Set when an enforced redact or deny policy applies: every text of the answer then goes out through these
   * (held back while it could still become a match).
   */
  filters: StreamFilters | null;
}

/**
 * One scanner per text of the stream: the choices of an `n > 1` stream (or a reasoning summary and
 * the answer) arrive interleaved, and one buffer of all of them would never hold a secret whole.
 */
export function streamGuard(x: Exchange, set: CompiledPolicySet): StreamGuard | null {
  const ctx = context(x);
  // A policy for other calls (another project, model, endpoint) leaves this stream as raw bytes.
  if (!watchesAnswers(set, ctx)) return null;
  const filters = createStreamFilters(set, ctx, placeholdersOf(x));
  const scanners = new Map<number, ResponseScanner>();
  /** Scanners given text since the last check. */
  const dirty = new Set<ResponseScanner>();
  let cut: string | null = null;
  return {
    filters,
    push(delta, key) {
      let scanner = scanners.get(key);
      if (!scanner) {
        // A `redact` match counts as applied only when the filters rewrite the text.
        scanner = createResponseScanner(set, ctx, { redacted: filters?.redacts ?? false });
        scanners.set(key, scanner);
      }
      scanner.push(delta);
      dirty.add(scanner);
    },
    check() {
      for (const scanner of dirty) {
        const step = scanner.check();
        if (step.cut && cut === null) cut = step.reason ?? `denied by policy "${step.policy ?? 'unknown'}"`;
      }
      dirty.clear();
      return cut;
    },
    finish() {
      const matches = new Map<string, RuleMatch>();
      let denied = false;
      for (const scanner of scanners.values()) {
        const r = scanner.finish();
        denied ||= r.cut;
        // The same rule hit in several texts is one match with their counts added.
        for (const m of r.matches) {
          const id = `${m.policy}\u0000${m.rule}\u0000${m.detector ?? ''}\u0000${String(m.applied)}`;
          const seen = matches.get(id);
          if (seen) seen.count += m.count;
          else matches.set(id, { ...m });
        }
      }
      const all = [...matches.values()];
      // Named as a complete answer's decision is (outcomeOf): a redaction that was applied is `redacted`.
      const outcome = denied ? 'denied' : all.some((m) => m.applied && m.action === 'redact') ? 'redacted' : all.length > 0 ? 'flagged' : 'allowed';
      merge(x, outcome, all, 'keep');
    },
  };
}

/** What the pipeline had learnt of a call when it ended, for what is stored of it. */
export interface StorageScope {
  /** False for a gateway key that keeps no bodies (`storeBodies: false`). */
  keyStoresBodies: boolean;
  /** The caller's project and key are known: its gateway key was looked up, or none was presented. */
  callerKnown: boolean;
}

/**
 * What is stored, independent of what was sent: redact or drop the bodies when a policy says so, and
 * drop them for a gateway key that keeps none (`storeBodies: false`).
 */
export function applyStorage(
  x: Exchange,
  set: CompiledPolicySet | null,
  scope: StorageScope = { keyStoresBodies: true, callerKnown: true },
): void {
  const mode = scope.keyStoresBodies ? (x.policies?.stored ?? (set ? refusedStorage(x, set, scope.callerKnown) : 'keep')) : 'drop';
  if (mode === 'drop') {
    x.request.raw = null;
    x.response.body = null;
  } else if (mode === 'redact' && set) {
    if (x.request.raw) x.request.raw = redactText(set, x.request.raw);
    if (x.response.body) x.response.body = redactText(set, x.response.body);
  }
}

/**
 * A call that never reached the policy stage (a bad key, an invalid body, an unknown provider)
 * still has its body, secrets and all: the `stored` of the policies that select it applies too. A
 * selector on what was never learnt (the project and key of a gateway key not looked up, the model
 * of a body that did not parse) cannot be decided: such a policy is taken to select the call (when
 * the rest of its selector does), so a body is never kept against the will of a policy that might
 * have applied.
 */
function refusedStorage(x: Exchange, set: CompiledPolicySet, callerKnown: boolean): StoredMode {
  if (!set.policies.some((p) => p.mode === 'enforce' && p.stored !== null && p.stored !== 'keep')) return 'keep';
  const modelKnown = x.request.model !== null || x.endpoint === 'models';
  const undecided = { ...(callerKnown ? {} : { project: null, key: null }), ...(modelKnown ? {} : { model: null }) };
  // Only the selectors and `stored` count here: no request rule runs (pre: false).
  const policies = set.policies.map((p) => ({ ...p, pre: false, selector: p.selector && { ...p.selector, ...undecided } }));
  return evaluateRequest({ ...set, policies }, { ...context(x), body: {} }).stored;
}
