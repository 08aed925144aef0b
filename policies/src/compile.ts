import { DETECTORS, PRIORITY, type DetectorName } from './detectors/index.ts';
import type { Detector } from './detectors/types.ts';
import { compileGlob } from './glob.ts';
import { CONTENT_RULES, REQUEST_RULES } from './rule-names.ts';
import type {
  EndpointName,
  MetadataFieldName,
  PolicyAction,
  PolicyConfig,
  PolicyIssue,
  PolicyMode,
  PolicyPattern,
  StoredMode,
} from './schema.ts';

/** One regex a content rule runs, with what to call its hits. */
export interface ContentScanner {
  rule: 'detect' | 'patterns' | 'keywords';
  detector: Detector;
  rank: number;
}

export interface CompiledSelector {
  project: RegExp[] | null;
  key: RegExp[] | null;
  user: RegExp[] | null;
  model: RegExp[] | null;
  endpoint: ReadonlySet<EndpointName> | null;
  properties: [name: string, values: RegExp[]][];
}

export interface CompiledPolicy {
  name: string;
  mode: PolicyMode;
  pre: boolean;
  post: boolean;
  action: PolicyAction | null;
  status: 400 | 403 | null;
  message: string | null;
  stored: StoredMode | null;
  selector: CompiledSelector | null;
  allowModels: RegExp[] | null;
  denyModels: RegExp[] | null;
  requireMetadata: MetadataFieldName[];
  forbidParams: string[];
  /** Token cap: `max_tokens`, or `rewrite.clamp_max_tokens`. */
  maxTokens: number | null;
  maxMessages: number | null;
  maxPromptChars: number | null;
  setModel: string | null;
  content: ContentScanner[];
  /** True when the policy has no rule at all: it applies to every call it selects. */
  blanket: boolean;
  /** The policy as written (after defaults), for display. */
  config: PolicyConfig;
}

/**
 * Policies ready to evaluate. Every regex (detectors, user patterns, keywords, globs) exists
 * here; evaluation only runs them.
 */
export interface CompiledPolicySet {
  policies: readonly CompiledPolicy[];
  /** Scanners for `redactText`: every built-in class plus enforced policies' patterns and keywords. */
  storage: readonly ContentScanner[];
}

export type CompileResult = { ok: true; policies: CompiledPolicySet } | { ok: false; issues: PolicyIssue[] };

const USER_RANK = 100;

export function compilePolicies(list: readonly PolicyConfig[]): CompileResult {
  const issues: PolicyIssue[] = [];
  const policies: CompiledPolicy[] = [];
  let rank = USER_RANK;
  list.forEach((p, index) => {
    const content: ContentScanner[] = [];
    for (const name of p.detect ?? []) content.push(...builtin(name));
    (p.patterns ?? []).forEach((pat, j) => {
      const d = compilePattern(pat);
      if (typeof d === 'string') {
        const path = typeof pat === 'string' ? [index, 'patterns', j] : [index, 'patterns', j, 'regex'];
        issues.push({ path, message: `policy "${p.name}": ${d}` });
      } else content.push({ rule: 'patterns', detector: d, rank: rank++ });
    });
    if (p.keywords !== undefined) content.push({ rule: 'keywords', detector: compileKeywords(p.keywords), rank: rank++ });

    const hasContent = CONTENT_RULES.some((r) => p[r] !== undefined);
    const stage = p.stage ?? (hasContent ? 'both' : 'pre');
    const globs = (g: string[] | undefined) => (g === undefined ? null : g.map(compileGlob));
    const blanket =
      !hasContent && p.rewrite?.clamp_max_tokens === undefined && REQUEST_RULES.every((r) => p[r] === undefined);
    policies.push({
      name: p.name,
      mode: p.mode,
      pre: stage !== 'post',
      post: stage !== 'pre' && content.length > 0,
      action: p.action ?? null,
      status: p.status ?? null,
      message: p.message ?? null,
      stored: p.stored ?? null,
      selector: p.match === undefined ? null : {
        project: globs(p.match.project),
        key: globs(p.match.key),
        user: globs(p.match.user),
        model: globs(p.match.model),
        endpoint: p.match.endpoint === undefined ? null : new Set(p.match.endpoint),
        // Lowercased like recorded property names (see lowerProperty).
        properties: Object.entries(p.match.properties ?? {}).map(([k, v]) => [k.toLowerCase(), v.map(compileGlob)]),
      },
      allowModels: globs(p.allow_models),
      denyModels: globs(p.deny_models),
      requireMetadata: (p.require_metadata ?? []).map(lowerProperty),
      forbidParams: p.forbid_params ?? [],
      maxTokens: p.rewrite?.clamp_max_tokens ?? p.max_tokens ?? null,
      maxMessages: p.max_messages ?? null,
      maxPromptChars: p.max_prompt_chars ?? null,
      setModel: p.rewrite?.set_model ?? null,
      content,
      blanket,
      config: p,
    });
  });
  if (issues.length > 0) return { ok: false, issues };

  const storage: ContentScanner[] = [];
  for (const name of Object.keys(DETECTORS) as DetectorName[]) storage.push(...builtin(name));
  for (const p of policies) {
    if (p.mode === 'enforce') storage.push(...p.content.filter((c) => c.rule !== 'detect'));
  }
  return { ok: true, policies: { policies, storage } };
}

/**
 * Property names come from `x-watchllm-property-<name>` headers, and HTTP header names are
 * case-insensitive (Node hands them over lowercased), so `CostCenter` in a policy means
 * `costcenter` as recorded.
 */
function lowerProperty(f: MetadataFieldName): MetadataFieldName {
  return f.startsWith('property:') ? (f.toLowerCase() as MetadataFieldName) : f;
}

function builtin(name: DetectorName): ContentScanner[] {
  return DETECTORS[name].map((detector) => ({ rule: 'detect', detector, rank: PRIORITY[name] }));
}

/** Builds a user pattern once; returns the reason as a string when it is unusable. */
function compilePattern(pat: PolicyPattern): Detector | string {
  const { regex, flags = '', name } = typeof pat === 'string' ? { regex: pat } : pat;
  let re: RegExp;
  try {
    re = new RegExp(regex, `${flags}g`);
  } catch (e) {
    return `invalid regular expression /${regex}/: ${e instanceof Error ? e.message : String(e)}`;
  }
  // A pattern that matches nothing at all would hit at every position of every text.
  re.lastIndex = 0;
  if (re.exec('')?.[0] === '') return `regular expression /${regex}/ matches the empty string`;
  re.lastIndex = 0;
  return { id: name ?? 'pattern', label: (name ?? 'pattern').toUpperCase(), re };
}

/**
 * All keywords of a policy in one alternation, longest first so `project falcon x` beats
 * `project falcon`; whole words only (Unicode letters/digits around a keyword break the match),
 * case-insensitive.
 */
function compileKeywords(words: readonly string[]): Detector {
  const alts = [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alts.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  return { id: 'keyword', label: 'KEYWORD', re };
}
