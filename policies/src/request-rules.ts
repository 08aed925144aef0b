import type { CompiledPolicy } from './compile.ts';
import { callModelMatches } from './glob.ts';
import type { EndpointName, RuleName } from './schema.ts';
import { metaValue } from './select.ts';
import { forEachText, REQUEST_ROOTS } from './text.ts';
import type { CallMeta } from './types.ts';

/** A request rule that hit, what a deny would say, and what a rewrite would do. */
export interface Violation {
  rule: RuleName;
  count: number;
  status: 400 | 403;
  reason: string;
  /** For `action: rewrite`: the body with this rule's own fix (strip, clamp). */
  fix?: (body: Record<string, unknown>) => Record<string, unknown>;
}

export interface RequestView {
  endpoint: EndpointName;
  model: string;
  /** where the call is routed (CallContext.routed); cleared when a rewrite names another model */
  routed?: string | undefined;
  body: Record<string, unknown>;
  meta: CallMeta;
}

/**
 * Output-token fields per surface: chat `max_tokens` (deprecated) and `max_completion_tokens`,
 * responses `max_output_tokens`, Anthropic messages and legacy completions `max_tokens`.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-max_completion_tokens
 */
const TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

const HEADER_OF: Record<string, string> = {
  user: 'x-watchllm-user',
  session: 'x-watchllm-session',
  project: 'a gateway key with a project',
  key: 'a gateway key',
};

/** `gpt-4o` and `openai/gpt-4o` name one model: the message says "routed to" only for another. */
function sameModel(asked: string, routed: string): boolean {
  const a = asked.toLowerCase();
  const r = routed.toLowerCase();
  return a === r || r.endsWith(`/${a}`);
}

/** Request-shape rules of one policy, in a fixed order (models, metadata, params, sizes). */
export function requestViolations(p: CompiledPolicy, req: RequestView): Violation[] {
  const out: Violation[] = [];
  const { body, model, routed } = req;
  const other = routed !== undefined && !sameModel(model, routed);
  const shownModel = JSON.stringify(model.slice(0, 100)) + (other ? ` (routed to ${JSON.stringify(routed.slice(0, 100))})` : '');
  if (p.allowModels !== null && !callModelMatches(p.allowModels, req)) {
    const reason = `model ${shownModel} is not in the allowed models`;
    out.push({ rule: 'allow_models', count: 1, status: 403, reason });
  }
  if (p.denyModels !== null && callModelMatches(p.denyModels, req)) {
    out.push({ rule: 'deny_models', count: 1, status: 403, reason: `model ${shownModel} is not allowed` });
  }
  const missing = p.requireMetadata.filter((f) => {
    const v = metaValue(req.meta, f);
    return v === undefined || v === null || v === '';
  });
  if (missing.length > 0) {
    const names = missing.map((f) => `${f} (${HEADER_OF[f] ?? `x-watchllm-property-${f.slice(9)}`})`);
    const reason = `missing required metadata: ${names.join(', ')}`;
    out.push({ rule: 'require_metadata', count: missing.length, status: 400, reason });
  }
  const present = p.forbidParams.filter((k) => body[k] !== undefined && body[k] !== null);
  if (present.length > 0) {
    out.push({
      rule: 'forbid_params',
      count: present.length,
      status: 400,
      reason: `parameters not allowed: ${present.join(', ')}`,
      fix: (b) => {
        const copy = { ...b };
        for (const k of present) delete copy[k];
        return copy;
      },
    });
  }
  const cap = p.maxTokens;
  if (cap !== null) {
    const over = TOKEN_FIELDS.filter((f) => typeof body[f] === 'number' && (body[f] as number) > cap);
    if (over.length > 0) {
      const first = over[0] as string;
      out.push({
        rule: 'max_tokens',
        count: over.length,
        status: 400,
        reason: `${first} ${String(body[first])} exceeds the limit of ${cap}`,
        fix: (b) => {
          const copy = { ...b };
          for (const f of over) copy[f] = cap;
          return copy;
        },
      });
    }
  }
  if (p.maxMessages !== null) {
    const n = messageCount(req);
    if (n > p.maxMessages) {
      const reason = `${n} messages exceed the limit of ${p.maxMessages}`;
      out.push({ rule: 'max_messages', count: 1, status: 400, reason });
    }
  }
  if (p.maxPromptChars !== null) {
    const n = promptChars(body);
    if (n > p.maxPromptChars) {
      const reason = `a prompt of ${n} characters exceeds the limit of ${p.maxPromptChars}`;
      out.push({ rule: 'max_prompt_chars', count: 1, status: 400, reason });
    }
  }
  return out;
}

/** `messages` (chat, Anthropic) or the `input` item list (responses; embeddings inputs are not messages). */
function messageCount({ endpoint, body }: RequestView): number {
  if (Array.isArray(body.messages)) return body.messages.length;
  if (endpoint === 'responses' && Array.isArray(body.input)) return body.input.length;
  return 0;
}

export function promptChars(body: Record<string, unknown>): number {
  let n = 0;
  forEachText(body, REQUEST_ROOTS, (s) => {
    n += s.length;
  });
  return n;
}
