import type { CompiledPolicy, CompiledPolicySet } from './compile.ts';
import { EscapeViews } from './escapes.ts';
import { applyHits, findHits, HitCounts, Placeholders } from './redact.ts';
import { requestViolations, type RequestView, type Violation } from './request-rules.ts';
import type { StoredMode } from './schema.ts';
import { selects, stricter } from './select.ts';
import { forEachText, mapText, REQUEST_ROOTS } from './text.ts';
import type { Decision, DenyDecision, RequestInput, RuleMatch } from './types.ts';

/**
 * Runs the pre-request policies in file order. Each policy sees the body as left by the
 * policies before it (a rewritten model, redacted text). The first enforced deny decides; the
 * policies after it are still evaluated and their hits recorded with `applied: false`, so the
 * event shows everything the call tripped. The input body is never mutated.
 */
export function evaluateRequest(set: CompiledPolicySet, input: RequestInput): Decision {
  const view: RequestView = {
    endpoint: input.endpoint,
    model: input.model,
    routed: input.routed,
    body: input.body as Record<string, unknown>,
    meta: input.meta,
  };
  const matches: RuleMatch[] = [];
  const placeholders = input.placeholders ?? new Placeholders();
  const views = new EscapeViews();
  let denied: DenyDecision | null = null;
  let stored: StoredMode = 'keep';

  for (const p of set.policies) {
    if (!selects(p, { endpoint: view.endpoint, model: view.model, routed: view.routed, meta: view.meta })) continue;
    if (p.mode === 'enforce') stored = stricter(stored, p.stored);
    if (!p.pre || p.action === null) continue;
    const live = p.mode === 'enforce' && denied === null;
    // A flag is applied by being recorded; deny, redact and rewrite only while nothing denied yet.
    const applied = p.action === 'flag' ? p.mode === 'enforce' : live;
    const record = (v: { rule: RuleMatch['rule']; count: number; detector?: string }) => {
      const detector = v.detector === undefined ? {} : { detector: v.detector };
      matches.push({ policy: p.name, rule: v.rule, action: p.action ?? 'flag', mode: p.mode, ...detector, count: v.count, applied });
    };

    const violations = p.blanket ? [blanketViolation(p)] : requestViolations(p, view);
    for (const v of violations) record(v);

    const counts = new HitCounts();
    if (p.content.length > 0) {
      if (p.action === 'redact' && live) {
        view.body = mapText(view.body, REQUEST_ROOTS, (s) => {
          const hits = findHits(p.content, s, views);
          counts.add(hits);
          return applyHits(s, hits, placeholders);
        });
      } else {
        forEachText(view.body, REQUEST_ROOTS, (s) => counts.add(findHits(p.content, s, views)));
      }
      for (const e of counts.entries.values()) record({ rule: e.rule, count: e.count, detector: e.source });
    }

    if (!live || (violations.length === 0 && counts.size === 0)) continue;
    if (p.action === 'deny') {
      denied = {
        kind: 'deny',
        policy: p.name,
        reason: denyReason(p, violations, [...counts.entries.values()].map((e) => e.source)),
        status: p.status ?? violations[0]?.status ?? 403,
        matches,
        stored,
      };
    } else if (p.action === 'rewrite') {
      for (const v of violations) if (v.fix !== undefined) view.body = v.fix(view.body);
      if (p.setModel !== null) {
        view.body = { ...view.body, model: p.setModel };
        view.model = p.setModel;
        // the gateway routes the new name afresh
        view.routed = undefined;
      }
    }
  }

  if (denied !== null) return { ...denied, stored };
  if (view.body !== input.body) return { kind: 'modify', body: view.body, matches, stored };
  return { kind: 'allow', matches, stored };
}

/** A policy without rules applies to every call it selects. */
function blanketViolation(p: CompiledPolicy): Violation {
  const rule = p.action === 'rewrite' ? 'set_model' : 'match';
  return { rule, count: 1, status: 403, reason: 'calls matching this policy are not allowed' };
}

export function denyReason(p: CompiledPolicy, violations: readonly Violation[], detectors: readonly string[]): string {
  const what = p.message ?? violations[0]?.reason ?? `content matched ${[...new Set(detectors)].join(', ')}`;
  return `denied by policy "${p.name}": ${what}`;
}
