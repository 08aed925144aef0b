/**
 * Where the text of a call lives. Rather than list every wire shape (OpenAI chat, completions,
 * embeddings, responses; Anthropic messages) field by field, we walk the subtrees that carry
 * text and visit every string in them, skipping keys that are structure or binary payloads
 * (roles, ids, base64 images and audio). That covers content strings and text parts, tool
 * results, tool-call arguments and tool_use inputs alike, and new content part types by default.
 */

/** Top-level request fields that hold prompt text. */
export const REQUEST_ROOTS: readonly string[] = ['messages', 'system', 'prompt', 'input', 'instructions', 'suffix', 'prediction'];

/** Top-level response fields that hold answer text (chat/completions, Anthropic, responses). */
export const RESPONSE_ROOTS: readonly string[] = ['choices', 'content', 'output', 'output_text', 'completion'];

const SKIP = new Set([
  'role', 'type', 'id', 'tool_call_id', 'tool_use_id', 'call_id', 'name', 'model', 'status',
  'cache_control', 'detail', 'media_type', 'image_url', 'input_audio', 'source', 'file', 'format',
  'logprobs', 'finish_reason', 'stop_reason', 'index', 'signature', 'encrypted_content', 'data',
  'url', 'annotations',
]);

/** Blocks whose `input` is the caller's own JSON (Anthropic tool calls): every key in it is data. */
const DATA_INPUT_BLOCKS = new Set(['tool_use', 'server_tool_use']);

/**
 * How a key of a wire object is walked: skipped (structure, binary), walked as data (every string
 * in it is text, whatever its keys are called: a tool call's `input` may well have a `url` or a
 * `name`), walked as named values (the Responses API's `prompt.variables`: the caller names them,
 * `name` or `data` as well as anything, and each value is a string or a content part), or walked
 * as wire shape. An Anthropic text document (`source: {type: "text", data}`) carries its text in
 * `data`, which elsewhere is base64. Signed thinking (an Anthropic `thinking` block with its
 * `signature`, also in the OpenAI surface's `thinking_blocks`) is read but never rewritten: the
 * provider checks the signature when the block comes back in a later turn and refuses a changed one,
 * so a redaction would break every following call of a tool-use loop (and the provider wrote that text).
 */
type Mode = 'skip' | 'data' | 'wire' | 'named' | 'signed';

function keyMode(obj: Record<string, unknown>, k: string): Mode {
  if (k === 'variables') return 'named';
  if (k === 'thinking' && obj['type'] === 'thinking' && typeof obj['signature'] === 'string') return 'signed';
  if (k === 'input' && DATA_INPUT_BLOCKS.has(obj['type'] as string)) return 'data';
  if (k === 'source') {
    const source = obj[k];
    const type = typeof source === 'object' && source !== null ? (source as Record<string, unknown>)['type'] : undefined;
    if (type === 'text' || type === 'content') return 'data';
  }
  return SKIP.has(k) ? 'skip' : 'wire';
}

/** Deeper than this, a structure is not walked (a guard against stack exhaustion, far above real payloads). */
const MAX_DEPTH = 256;

export function forEachText(body: Record<string, unknown>, roots: readonly string[], fn: (s: string) => void): void {
  for (const key of roots) {
    if (key in body) visit(body[key], fn, 0);
  }
}

function visit(v: unknown, fn: (s: string) => void, depth: number, data = false, named = false): void {
  if (typeof v === 'string') return fn(v);
  if (typeof v !== 'object' || v === null || depth > MAX_DEPTH) return;
  if (Array.isArray(v)) {
    for (const item of v) visit(item, fn, depth + 1, data);
    return;
  }
  for (const [k, item] of Object.entries(v)) {
    const mode = data ? 'data' : named ? 'wire' : keyMode(v as Record<string, unknown>, k);
    if (mode !== 'skip') visit(item, fn, depth + 1, mode === 'data', mode === 'named');
  }
}

/**
 * Returns `body` with `fn` applied to every text string but signed thinking (see keyMode); objects on the path to a changed
 * string are copied, the rest is shared, and the input is never mutated. When nothing changes
 * the same `body` reference comes back, so callers can tell cheaply.
 */
export function mapText(
  body: Record<string, unknown>,
  roots: readonly string[],
  fn: (s: string) => string,
): Record<string, unknown> {
  let out = body;
  for (const key of roots) {
    if (!(key in body)) continue;
    const before = body[key];
    const after = map(before, fn, 0);
    if (after !== before) {
      if (out === body) out = { ...body };
      out[key] = after;
    }
  }
  return out;
}

function map(v: unknown, fn: (s: string) => string, depth: number, data = false, named = false): unknown {
  if (typeof v === 'string') return fn(v);
  if (typeof v !== 'object' || v === null || depth > MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const after = map(v[i], fn, depth + 1, data);
      if (after !== v[i]) {
        copy ??= v.slice();
        copy[i] = after;
      }
    }
    return copy ?? v;
  }
  let copy: Record<string, unknown> | null = null;
  for (const [k, item] of Object.entries(v)) {
    const mode = data ? 'data' : named ? 'wire' : keyMode(v as Record<string, unknown>, k);
    if (mode === 'skip' || mode === 'signed') continue;
    const after = map(item, fn, depth + 1, mode === 'data', mode === 'named');
    if (after !== item) {
      copy ??= { ...(v as Record<string, unknown>) };
      copy[k] = after;
    }
  }
  return copy ?? v;
}
