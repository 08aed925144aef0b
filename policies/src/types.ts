import type { Placeholders } from './redact.ts';
import type { EndpointName, PolicyAction, PolicyMode, RuleName, StoredMode } from './schema.ts';

/** Caller metadata, from the gateway key and `x-watchllm-*` headers. */
export interface CallMeta {
  project?: string | null;
  keyId?: string | null;
  user?: string | null;
  session?: string | null;
  properties?: Readonly<Record<string, string>>;
}

export interface CallContext {
  endpoint: EndpointName;
  /** The model as the client asked for it (a `provider/` prefix is fine). */
  model: string;
  /**
   * Where the call is routed, `provider/model`, when the gateway knows: model rules see both names,
   * so a load-balanced or aliased name cannot carry a call past a rule about the model it reaches
   * (deny: either name; allow: either name; `match.model`: either name).
   */
  routed?: string | undefined;
  meta: CallMeta;
}

export interface RequestInput extends CallContext {
  /** The parsed JSON body in the client surface's shape. Never mutated. */
  body: Readonly<Record<string, unknown>>;
  /**
   * The call's placeholders, shared with its answer (evaluateResponse, createStreamFilters): an
   * address the prompt sent as `[EMAIL_1]` is `[EMAIL_1]` in the answer too, and another one
   * there is `[EMAIL_2]`, never a second `[EMAIL_1]`. A fresh set when omitted.
   */
  placeholders?: Placeholders;
}

export interface ResponseInput extends CallContext {
  /** The answer's text (all choices/blocks concatenated), what detectors run on. */
  text: string;
  /** The parsed response body, when there is one to rewrite (non-streamed answers). */
  body?: Readonly<Record<string, unknown>>;
  /** The call's placeholders, as the request's policies left them (see RequestInput). */
  placeholders?: Placeholders;
}

/**
 * One rule that hit. Never carries the matched text: counts and class names only, so matches
 * can be stored and shown without leaking what they protect.
 */
export interface RuleMatch {
  policy: string;
  rule: RuleName;
  action: PolicyAction;
  mode: PolicyMode;
  /** Built-in class (`email`), user pattern name (`pattern` when unnamed) or `keyword`. */
  detector?: string;
  count: number;
  /** False for shadow policies and for anything after the first deny. */
  applied: boolean;
}

interface DecisionBase {
  matches: RuleMatch[];
  /** What to store for this call: the strictest `stored` of the enforced policies that select it. */
  stored: StoredMode;
}

export interface AllowDecision extends DecisionBase {
  kind: 'allow';
}

export interface DenyDecision extends DecisionBase {
  kind: 'deny';
  policy: string;
  /** Names the policy and the rule class; never the matched text. */
  reason: string;
  status: 400 | 403;
}

export type Decision =
  | AllowDecision
  | DenyDecision
  | (DecisionBase & { kind: 'modify'; body: Record<string, unknown> });

export type ResponseDecision =
  | AllowDecision
  | DenyDecision
  | (DecisionBase & {
      kind: 'modify';
      /** The answer text with redactions applied. */
      text: string;
      /** The response body with the same redactions, when one was given. */
      body: Record<string, unknown> | null;
    });
