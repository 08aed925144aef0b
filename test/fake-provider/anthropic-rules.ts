/**
 * The request rules the Messages API refuses with a 400, as pure checks of the body: parameters,
 * tool_use/tool_result pairing and extended thinking history. Each returns Anthropic's message,
 * or null when the request passes.
 */
import { createHash } from 'node:crypto';
import { isRecord } from './http.ts';

/** What the fake "thinks" when `thinking` is enabled: fixed text, streamed in pieces. */
export const FAKE_THINKING = 'The user wants an answer. Let me work it out step by step.';

/** The signature the fake gives a thinking block and checks when the block comes back. */
export function thinkingSignature(thinking: string): string {
  return createHash('sha256').update(`fake-anthropic-thinking\0${thinking}`).digest('base64');
}

/**
 * Anthropic's rules for thinking sent back (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking):
 * with thinking on, a request continuing a tool-use loop (ending with tool results) must have that
 * loop's first assistant message start with a thinking or redacted_thinking block, and every
 * thinking block must carry the signature it was given.
 * Returns the 400 message, or null when the history is acceptable.
 */
export function thinkingError(body: Record<string, unknown>): string | null {
  const on = isRecord(body.thinking) && body.thinking.type === 'enabled';
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  let lastAssistant = -1;
  for (const [i, m] of msgs.entries()) {
    if (!isRecord(m) || m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    lastAssistant = i;
    for (const [j, b] of m.content.entries()) {
      if (isRecord(b) && b.type === 'thinking' && (typeof b.thinking !== 'string' || b.signature !== thinkingSignature(b.thinking))) {
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
  }
  if (!on || lastAssistant === -1) return null;
  // Only a request continuing a tool-use loop (it ends with tool results) needs thinking, at the start
  // of that loop's first assistant message (after the last user message that is not tool results):
  // a tool-use loop is one assistant turn, and earlier turns' thinking is stripped by the API
  // (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#extended-thinking-with-tool-use).
  const toolResults = (m: unknown) => isRecord(m) && Array.isArray(m.content) && m.content.some((b) => isRecord(b) && b.type === 'tool_result');
  if (!toolResults(msgs.at(-1))) return null;
  let turn = -1;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (isRecord(m) && m.role === 'assistant') turn = i;
    else if (!toolResults(m)) break;
  }
  const opening = msgs[turn];
  if (!isRecord(opening) || !Array.isArray(opening.content)) return null;
  const first = opening.content.filter(isRecord)[0];
  if (first?.type === 'thinking' || first?.type === 'redacted_thinking') return null;
  return (
    `messages.${turn}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. ` +
    'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of ' +
    '`tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this ' +
    'requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking'
  );
}

/**
 * Anthropic's pairing rule (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#handling-tool-use-and-tool-result-content-blocks):
 * every tool_use of an assistant turn needs its tool_result in the next (user) turn; several
 * parallel calls' results all go in that one turn. Consecutive user messages count as one turn,
 * as the API combines them. Returns the 400 message, or null.
 */
export function toolResultError(body: Record<string, unknown>): string | null {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const blocks = (m: unknown): Record<string, unknown>[] => (isRecord(m) && Array.isArray(m.content) ? m.content.filter(isRecord) : []);
  for (const [i, m] of msgs.entries()) {
    if (!isRecord(m) || m.role !== 'assistant') continue;
    const uses = blocks(m).filter((b) => b.type === 'tool_use').map((b) => String(b.id));
    if (uses.length === 0) continue;
    const answered = new Set<string>();
    for (let j = i + 1; j < msgs.length && isRecord(msgs[j]) && (msgs[j] as Record<string, unknown>).role === 'user'; j++) {
      for (const b of blocks(msgs[j])) if (b.type === 'tool_result') answered.add(String(b.tool_use_id));
    }
    const missing = uses.filter((u) => !answered.has(u));
    // The last assistant turn may be a prefill awaiting no result only when nothing follows it.
    if (missing.length > 0 && i < msgs.length - 1) {
      return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  return null;
}

/**
 * Parameter rules the Messages API enforces with a 400 (messages as Anthropic words them): empty
 * text blocks, whitespace-only stop sequences, temperature above 1, and with thinking on a
 * temperature other than 1, top_k, or forced tool use.
 */
export function parameterError(body: Record<string, unknown>): string | null {
  const texts = (content: unknown): unknown[] => (Array.isArray(content) ? content.filter((b) => isRecord(b) && b.type === 'text') : []);
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (const m of [...msgs.map((x) => (isRecord(x) ? x.content : undefined)), body.system]) {
    if (m === '' || texts(m).some((b) => isRecord(b) && b.text === '')) return 'messages: text content blocks must be non-empty';
  }
  const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences : [];
  if (stops.some((s) => typeof s !== 'string' || s.trim() === '')) return 'stop_sequences: each stop sequence must contain non-whitespace';
  if (typeof body.temperature === 'number' && (body.temperature < 0 || body.temperature > 1)) return 'temperature: range: 0..1';
  if (isRecord(body.thinking) && body.thinking.type === 'enabled') {
    if (body.temperature !== undefined && body.temperature !== 1) {
      return '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking';
    }
    if (body.top_k !== undefined) return '`top_k` must be unset when thinking is enabled.';
    const choice = body.tool_choice;
    if (isRecord(choice) && (choice.type === 'any' || choice.type === 'tool')) return 'Thinking may not be enabled when tool_choice forces tool use.';
  }
  return null;
}
