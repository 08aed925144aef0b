import { z } from 'zod';
import { compilePolicies, type CompiledPolicySet } from './compile.ts';
import { DETECTOR_NAMES } from './detectors/index.ts';
import { CONTENT_RULES, REQUEST_RULES } from './rule-names.ts';

export { CONTENT_RULES, REQUEST_RULES, type RuleName } from './rule-names.ts';

/** Endpoint names, as `@watchllm/providers` spells them (`Endpoint`). */
export const ENDPOINTS = [
  'chat', 'completions', 'embeddings', 'responses', 'models', 'messages',
  'moderations', 'images', 'speech', 'transcriptions', 'translations',
] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/** `x` or `[x, y]`; always an array after parsing. */
const oneOrMany = <T extends z.ZodType<string>>(item: T, what = 'a non-empty string') =>
  z
    .union([item, z.array(item).min(1)], { error: `expected ${what} or a list of them` })
    .transform((v): z.output<T>[] => (Array.isArray(v) ? v : [v]));

const nonEmpty = z.string().min(1);

/** Which calls a policy applies to; every field given must match, a list matches any of its items. */
export const MatchSchema = z.strictObject({
  /** Globs (`*`, `?`) on the gateway project, key id, caller user and model. */
  project: oneOrMany(nonEmpty).optional(),
  key: oneOrMany(nonEmpty).optional(),
  user: oneOrMany(nonEmpty).optional(),
  model: oneOrMany(nonEmpty).optional(),
  endpoint: oneOrMany(z.enum(ENDPOINTS), `one of ${ENDPOINTS.join(', ')}`).optional(),
  /** Custom properties from `x-watchllm-property-<name>`: name -> glob(s) on the value. */
  properties: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), oneOrMany(nonEmpty)).optional(),
});

export const PatternSchema = z.union([
  nonEmpty,
  z.strictObject({
    regex: nonEmpty,
    /** JavaScript flags; `g` is always added, `y` is not allowed. */
    flags: z.string().regex(/^[imsu]*$/, 'flags may only contain i, m, s, u').optional(),
    /** Names the match in reports and placeholders: `card_ref` -> `[CARD_REF_1]`. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'name must be letters, digits and _').optional(),
  }),
]);

export const MetadataField = z.union([
  z.enum(['user', 'session', 'project', 'key']),
  z.string().regex(/^property:[A-Za-z0-9_-]+$/, 'expected user, session, project, key or property:<name>'),
]);

const positiveInt = z.int().positive();

const PolicyObject = z.strictObject({
  name: z.string().min(1).max(100),
  description: z.string().optional(),
  /** `shadow` records what the policy would have done and changes nothing. */
  mode: z.enum(['enforce', 'shadow']).default('enforce'),
  /** Default: `both` when the policy has content rules, else `pre`. */
  stage: z.enum(['pre', 'post', 'both']).optional(),
  match: MatchSchema.optional(),

  // Request rules (pre stage only).
  allow_models: z.array(nonEmpty).min(1).optional(),
  deny_models: z.array(nonEmpty).min(1).optional(),
  max_tokens: positiveInt.optional(),
  max_messages: positiveInt.optional(),
  max_prompt_chars: positiveInt.optional(),
  require_metadata: z.array(MetadataField).min(1).optional(),
  forbid_params: z.array(nonEmpty).min(1).optional(),

  // Content rules (request text and answer text).
  patterns: z.array(PatternSchema).min(1).optional(),
  keywords: z.array(nonEmpty).min(1).optional(),
  detect: z.array(z.enum(DETECTOR_NAMES)).min(1).optional(),

  action: z.enum(['deny', 'redact', 'flag', 'rewrite']).optional(),
  rewrite: z
    .strictObject({ set_model: nonEmpty.optional(), clamp_max_tokens: positiveInt.optional() })
    .refine((r) => r.set_model !== undefined || r.clamp_max_tokens !== undefined, 'set set_model or clamp_max_tokens')
    .optional(),
  /** HTTP status of a deny. Default: 403 for model, content and blanket denies, 400 for request-shape rules. */
  status: z.union([z.literal(400), z.literal(403)]).optional(),
  /** Replaces the generated reason after `policy "<name>": `. */
  message: z.string().min(1).optional(),
  /** What the gateway stores for calls this policy selects; the strictest wins (drop > redact > keep). */
  stored: z.enum(['keep', 'redact', 'drop']).optional(),
});

export const PolicySchema = PolicyObject.superRefine((p, ctx) => {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const request = REQUEST_RULES.filter((r) => p[r] !== undefined);
  const content = CONTENT_RULES.filter((r) => p[r] !== undefined);
  const hasRules = request.length + content.length > 0;

  if (p.action === undefined) {
    if (hasRules) issue(['action'], 'action is required when a policy has rules (deny, redact, flag or rewrite)');
    else if (p.stored === undefined) issue([], 'policy does nothing: give it rules and an action, or stored');
  }
  if (p.action === 'redact') {
    if (content.length === 0) issue(['action'], 'redact needs detect, patterns or keywords');
    for (const r of request) issue([r], `${r} cannot be redacted: use deny, flag or rewrite in another policy`);
  }
  if (p.action === 'rewrite') {
    for (const r of content) issue([r], `${r} cannot be rewritten: use redact`);
    const clamp = p.max_tokens !== undefined || p.rewrite?.clamp_max_tokens !== undefined;
    const needsModel = request.filter((r) => r !== 'max_tokens' && r !== 'forbid_params');
    if (p.rewrite?.set_model === undefined) {
      for (const r of needsModel) issue(['rewrite', 'set_model'], `rewrite on ${r} needs rewrite.set_model`);
      if (!hasRules && !clamp) issue(['rewrite'], 'rewrite needs set_model, clamp_max_tokens, max_tokens or forbid_params');
    }
  }
  if (p.rewrite !== undefined && p.action !== 'rewrite') issue(['rewrite'], 'rewrite is only used with action: rewrite');
  if (p.status !== undefined && p.action !== 'deny') issue(['status'], 'status is only used with action: deny');
  if (p.stage === 'post') {
    if (content.length === 0) issue(['stage'], 'stage post needs detect, patterns or keywords');
    for (const r of request) issue([r], `${r} is a request rule and cannot run at stage post`);
  }
});

export const PoliciesSchema = z.array(PolicySchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate policy name "${p.name}"` });
    seen.add(p.name);
  });
});

/** A policy as written, after defaults. */
export type PolicyConfig = z.output<typeof PolicySchema>;
export type PolicySelector = z.output<typeof MatchSchema>;
export type PolicyPattern = z.output<typeof PatternSchema>;
export type MetadataFieldName = z.output<typeof MetadataField>;
export type PolicyAction = NonNullable<PolicyConfig['action']>;
export type PolicyMode = PolicyConfig['mode'];
export type StoredMode = NonNullable<PolicyConfig['stored']>;

export interface PolicyIssue {
  /** Path into the value given to `parsePolicies` (`[1, 'deny_models', 0]`), for mapping to YAML lines. */
  path: (string | number)[];
  message: string;
}

export type ParseResult = { ok: true; policies: CompiledPolicySet } | { ok: false; issues: PolicyIssue[] };

/**
 * Validates and compiles a policy list: the value of `policies:` in watchllm.yaml, or a whole
 * document `{ policies: [...] }` (then paths start with `policies`). Compilation errors (an
 * invalid user regex) come back as issues too, naming the policy.
 */
export function parsePolicies(value: unknown): ParseResult {
  const wrapped = typeof value === 'object' && value !== null && !Array.isArray(value) && 'policies' in value;
  const list = wrapped ? (value as { policies: unknown }).policies : value;
  const prefix: (string | number)[] = wrapped ? ['policies'] : [];
  const parsed = PoliciesSchema.safeParse(list ?? []);
  if (!parsed.success) {
    const issues: PolicyIssue[] = [];
    for (const i of parsed.error.issues) {
      const path = [...prefix, ...i.path.map((k) => (typeof k === 'number' ? k : String(k)))];
      // Point at each unknown key itself, so the gateway can show its YAML line.
      if (i.code === 'unrecognized_keys') {
        for (const k of i.keys) issues.push({ path: [...path, k], message: `unknown field "${k}"` });
      } else issues.push({ path, message: i.message });
    }
    return { ok: false, issues };
  }
  const compiled = compilePolicies(parsed.data);
  if (!compiled.ok) return { ok: false, issues: compiled.issues.map((i) => ({ ...i, path: [...prefix, ...i.path] })) };
  return compiled;
}
