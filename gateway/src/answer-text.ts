/**
 * The generated texts of a complete answer in any client format, one entry per text: OpenAI chat
 * (per choice: `message.content`, its reasoning, its refusal, each tool call's arguments, an audio
 * answer's transcript), legacy
 * completions (`choices[].text`), Responses (output items' text and refusal parts, reasoning
 * summaries, function call arguments), Anthropic Messages (`content[]` text, thinking, tool inputs).
 * Texts are kept apart so that no match is made (or missed) across two of them: the end of choice
 * 0 glued to the start of choice 1 is neither's text.
 */
export function answerTexts(body: unknown): string[] {
  if (body === null || typeof body !== 'object') return [];
  const out: string[] = [];
  const keep = (v: unknown) => {
    if (typeof v === 'string' && v !== '') out.push(v);
  };
  const r = body as {
    choices?: Array<{ message?: ChatMessage; text?: unknown } | null>;
    content?: Array<{ text?: unknown; thinking?: unknown; input?: unknown } | null>;
    output?: Array<{ content?: Array<{ text?: unknown; refusal?: unknown } | null>; summary?: Array<{ text?: unknown } | null>; arguments?: unknown } | null>;
  };
  for (const c of Array.isArray(r.choices) ? r.choices : []) {
    const m = c?.message;
    if (m) {
      keep(m.content);
      // DeepSeek, vLLM and the gateway's Anthropic translation say `reasoning_content`; OpenRouter
      // and Groq say `reasoning` (some send both, with the same text).
      keep(typeof m.reasoning_content === 'string' ? m.reasoning_content : m.reasoning);
      keep(m.refusal);
      keep(m.audio?.transcript);
      keep(m.function_call?.arguments);
      for (const t of Array.isArray(m.tool_calls) ? m.tool_calls : []) keep(t?.function?.arguments);
    }
    keep(c?.text);
  }
  for (const b of Array.isArray(r.content) ? r.content : []) {
    if (typeof b?.text === 'string') keep(b.text);
    else if (typeof b?.thinking === 'string') keep(b.thinking);
    else if (b?.input !== undefined) out.push(JSON.stringify(b.input));
  }
  for (const item of Array.isArray(r.output) ? r.output : []) {
    for (const c of Array.isArray(item?.content) ? item.content : []) {
      keep(c?.text);
      keep(c?.refusal);
    }
    for (const s of Array.isArray(item?.summary) ? item.summary : []) keep(s?.text);
    keep(item?.arguments);
  }
  return out;
}

interface ChatMessage {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  refusal?: unknown;
  audio?: { transcript?: unknown } | null;
  function_call?: { arguments?: unknown } | null;
  tool_calls?: Array<{ function?: { arguments?: unknown } } | null>;
}

/** Between two texts of an answer: a line break ends any word, and no built-in detector spans it. */
export const TEXT_SEPARATOR = '\n';

/** The answer's texts as one string (a token estimate, one scan for the policies). */
export function answerText(body: unknown): string {
  return answerTexts(body).join(TEXT_SEPARATOR);
}
