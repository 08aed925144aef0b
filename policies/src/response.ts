import type { CompiledPolicySet } from './compile.ts';
import { denyReason } from './evaluate.ts';
import { EscapeViews } from './escapes.ts';
import { applyHits, findHits, HitCounts, Placeholders } from './redact.ts';
import type { StoredMode } from './schema.ts';
import { selects, stricter } from './select.ts';
import { mapText, RESPONSE_ROOTS } from './text.ts';
import type { DenyDecision, ResponseDecision, ResponseInput, RuleMatch } from './types.ts';

/**
 * Runs the post-response content rules on a complete answer, in file order. `redact` rewrites
 * `text` and, when given, the same text inside `body` (choices, content blocks, output items)
 * with placeholders consistent across both. An enforced `deny` means the answer must not reach
 * the client; the gateway answers with the decision's status and reason instead.
 */
export function evaluateResponse(set: CompiledPolicySet, input: ResponseInput): ResponseDecision {
  const matches: RuleMatch[] = [];
  const placeholders = input.placeholders ?? new Placeholders();
  const views = new EscapeViews();
  let text = input.text;
  let body = (input.body ?? null) as Record<string, unknown> | null;
  let denied: DenyDecision | null = null;
  let stored: StoredMode = 'keep';

  for (const p of set.policies) {
    if (!selects(p, input)) continue;
    if (p.mode === 'enforce') stored = stricter(stored, p.stored);
    if (!p.post || p.action === null) continue;
    const live = p.mode === 'enforce' && denied === null;
    const applied = p.action === 'flag' ? p.mode === 'enforce' : live;
    const hits = findHits(p.content, text, views);
    if (hits.length === 0) continue;
    const counts = new HitCounts();
    counts.add(hits);
    for (const e of counts.entries.values()) {
      const { rule, source: detector, count } = e;
      matches.push({ policy: p.name, rule, action: p.action, mode: p.mode, detector, count, applied });
    }
    if (!live) continue;
    if (p.action === 'redact') {
      text = applyHits(text, hits, placeholders);
      const redact = (s: string) => applyHits(s, findHits(p.content, s, views), placeholders);
      if (body !== null) body = mapText(body, RESPONSE_ROOTS, redact);
    } else if (p.action === 'deny') {
      const sources = [...counts.entries.values()].map((e) => e.source);
      denied = { kind: 'deny', policy: p.name, reason: denyReason(p, [], sources), status: p.status ?? 403, matches, stored };
    }
  }

  if (denied !== null) return { ...denied, stored };
  if (text !== input.text) return { kind: 'modify', text, body, matches, stored };
  return { kind: 'allow', matches, stored };
}

/**
 * Redacts a stored body (request or response, JSON text, possibly truncated, or plain text)
 * with every built-in class plus the patterns and keywords of enforced policies.
 *
 * In JSON text a secret often follows an escape (`\nsk-…`, `\t4111…`, doubled inside a tool
 * call's arguments), where the escape's letter would glue onto it; `findHits` scans such text
 * decoded and keeps hit edges on whole escapes. Placeholders contain no JSON metacharacters, so
 * JSON text stays valid JSON.
 */
export function redactText(set: CompiledPolicySet, text: string): string {
  return applyHits(text, findHits(set.storage, text), new Placeholders());
}
