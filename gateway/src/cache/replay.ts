/**
 * Serve a cached chat answer in the other mode: a stored `chat.completion` as the
 * `chat.completion.chunk` stream OpenAI would have sent, or a stored stream as one completion.
 * Pure (no clock, no I/O). Shapes follow https://platform.openai.com/docs/api-reference/chat/object
 * and https://platform.openai.com/docs/api-reference/chat-streaming/streaming.
 */
import { z } from 'zod';

/** Something in the stored answer that has no faithful form in the other mode: serve it as a miss. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/** Text pieces per content chunk, in code points (never splitting a surrogate pair). */
const PIECE = 64;

const usageSchema = z.looseObject({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() });
const logprobsSchema = z.looseObject({
  content: z.array(z.unknown()).nullable().optional(),
  refusal: z.array(z.unknown()).nullable().optional(),
});
const functionSchema = z.object({ name: z.string(), arguments: z.string() });

/** Message fields carried across; anything else non-empty is refused rather than dropped. */
const messageSchema = z.looseObject({
  role: z.literal('assistant'),
  content: z.string().nullable().optional(),
  refusal: z.string().nullable().optional(),
  tool_calls: z.array(z.object({ id: z.string(), type: z.literal('function'), function: functionSchema })).optional(),
  function_call: functionSchema.nullable().optional(),
  annotations: z.array(z.unknown()).optional(),
});
const KNOWN_MESSAGE_FIELDS = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call', 'annotations']);
/** Reasoning text as OpenAI-compatible hosts send it (DeepSeek, vLLM, OpenRouter): streamed as deltas of the same name. */
const REASONING_FIELDS = ['reasoning_content', 'reasoning'] as const;

const top = {
  id: z.string(),
  created: z.number(),
  model: z.string(),
  system_fingerprint: z.string().nullable().optional(),
  service_tier: z.string().nullable().optional(),
};

const completionSchema = z.looseObject({
  ...top,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.looseObject({ index: z.number().int(), message: messageSchema, finish_reason: z.string().nullable(), logprobs: logprobsSchema.nullable().optional() }),
  ),
  usage: usageSchema.nullable().optional(),
});
export type ChatCompletion = z.infer<typeof completionSchema>;

const deltaSchema = z.looseObject({
  role: z.string().optional(),
  content: z.string().nullable().optional(),
  refusal: z.string().nullable().optional(),
  tool_calls: z
    .array(
      z.looseObject({
        index: z.number().int().optional(),
        id: z.string().optional(),
        type: z.string().optional(),
        function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
      }),
    )
    .nullable()
    .optional(),
  function_call: z.object({ name: z.string().optional(), arguments: z.string().optional() }).nullable().optional(),
  annotations: z.array(z.unknown()).nullable().optional(),
  reasoning_content: z.string().nullable().optional(),
  reasoning: z.string().nullable().optional(),
});
/** Delta members chunksToChatCompletion folds into a message; anything else it cannot put back. */
const DELTA_KEYS: ReadonlySet<string> = new Set(Object.keys(deltaSchema.shape));
const TOOL_CALL_KEYS: ReadonlySet<string> = new Set(['index', 'id', 'type', 'function']);
const FUNCTION_KEYS: ReadonlySet<string> = new Set(['name', 'arguments']);

/**
 * Throws ReplayError when a delta carries something the assembled message would lose: audio
 * output, Anthropic `thinking_blocks` (signed: a client sends them back), Gemini thought
 * signatures on tool calls, any member of a newer API. The cache then counts a miss rather than
 * answer with part of the answer.
 */
function assertFoldable(d: Record<string, unknown>): void {
  const lost = (o: Record<string, unknown>, known: ReadonlySet<string>) => Object.keys(o).find((k) => !known.has(k) && o[k] !== null && o[k] !== undefined);
  let key = lost(d, DELTA_KEYS);
  for (const t of Array.isArray(d['tool_calls']) ? (d['tool_calls'] as Array<Record<string, unknown>>) : []) {
    key ??= lost(t, TOOL_CALL_KEYS);
    const fn = t['function'];
    if (fn !== null && typeof fn === 'object') key ??= lost(fn as Record<string, unknown>, FUNCTION_KEYS);
  }
  if (key !== undefined) throw new ReplayError(`a streamed answer with '${key}' cannot be served whole`);
}

const chunkSchema = z.looseObject({
  ...top,
  object: z.literal('chat.completion.chunk'),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      delta: deltaSchema.optional(),
      finish_reason: z.string().nullable().optional(),
      logprobs: logprobsSchema.nullable().optional(),
    }),
  ),
  usage: usageSchema.nullable().optional(),
});

export type ChunkDelta = z.infer<typeof deltaSchema>;
type Usage = z.infer<typeof usageSchema>;
type Logprobs = z.infer<typeof logprobsSchema>;

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  service_tier?: string | null;
  system_fingerprint?: string | null;
  choices: Array<{ index: number; delta: ChunkDelta; logprobs: Logprobs | null; finish_reason: string | null }>;
  usage?: Usage | null;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new ReplayError(`not a ${what}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
}

/** `text` in pieces of about PIECE code points; joined they give back `text` exactly. */
function pieces(text: string): string[] {
  const points = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += PIECE) out.push(points.slice(i, i + PIECE).join(''));
  return out;
}

/**
 * The chunk sequence OpenAI streams for `completion`: per choice a role chunk, content pieces,
 * refusal pieces, each tool call (id, type and name first, then its arguments in pieces, all under
 * the call's `index`), a chunk with the finish reason; then, with `includeUsage`, one chunk with
 * `choices: []` and the usage, and `usage: null` on every other chunk (as OpenAI does for
 * `stream_options.include_usage`). Throws `ReplayError` for a message it cannot stream faithfully.
 */
export function chatCompletionToChunks(completion: unknown, opts: { includeUsage: boolean }): ChatCompletionChunk[] {
  const c = parse(completionSchema, completion, 'chat.completion');
  const chunks: ChatCompletionChunk[] = [];
  const base = {
    id: c.id,
    object: 'chat.completion.chunk' as const,
    created: c.created,
    model: c.model,
    ...(c.service_tier !== undefined && { service_tier: c.service_tier }),
    ...(c.system_fingerprint !== undefined && { system_fingerprint: c.system_fingerprint }),
  };
  const push = (index: number, delta: ChunkDelta, finish: string | null = null, logprobs: Logprobs | null = null) => {
    chunks.push({ ...base, choices: [{ index, delta, logprobs, finish_reason: finish }], ...(opts.includeUsage && { usage: null }) });
  };

  for (const { index, message: m, finish_reason, logprobs } of c.choices) {
    for (const [k, v] of Object.entries(m)) {
      const empty = v === null || v === undefined || (Array.isArray(v) && v.length === 0);
      if (!KNOWN_MESSAGE_FIELDS.has(k) && !(REASONING_FIELDS as readonly string[]).includes(k) && !empty) {
        throw new ReplayError(`message.${k} of choice ${index} cannot be replayed as a stream`);
      }
    }
    const content = m.content ?? null;
    // Token log probabilities ride on the first chunk whole; the SDK and reassembly concatenate them.
    push(index, { role: 'assistant', content: content === null ? null : '', refusal: null }, null, logprobs ?? null);
    for (const field of REASONING_FIELDS) {
      const text = m[field];
      if (typeof text === 'string') for (const p of pieces(text)) push(index, { [field]: p });
    }
    if (content !== null) for (const p of pieces(content)) push(index, { content: p });
    if (m.refusal) for (const p of pieces(m.refusal)) push(index, { refusal: p });
    if (m.annotations && m.annotations.length > 0) push(index, { annotations: m.annotations });
    if (m.function_call) {
      push(index, { function_call: { name: m.function_call.name, arguments: '' } });
      for (const p of pieces(m.function_call.arguments)) push(index, { function_call: { arguments: p } });
    }
    (m.tool_calls ?? []).forEach((call, i) => {
      push(index, { tool_calls: [{ index: i, id: call.id, type: call.type, function: { name: call.function.name, arguments: '' } }] });
      for (const p of pieces(call.function.arguments)) push(index, { tool_calls: [{ index: i, function: { arguments: p } }] });
    });
    push(index, {}, finish_reason);
  }
  if (opts.includeUsage && c.usage) chunks.push({ ...base, choices: [], usage: c.usage });
  return chunks;
}

interface ChoiceState {
  content: string | null;
  refusal: string | null;
  reasoning: Partial<Record<(typeof REASONING_FIELDS)[number], string>>;
  annotations: unknown[] | null;
  functionCall: { name: string; arguments: string } | null;
  toolCalls: Map<number, { id: string; type: string; function: { name: string; arguments: string } }>;
  finish: string | null;
  logprobs: Logprobs | null;
}

function newChoice(): ChoiceState {
  return { content: null, refusal: null, reasoning: {}, annotations: null, functionCall: null, toolCalls: new Map(), finish: null, logprobs: null };
}

/**
 * One `chat.completion` from its stream: text and refusals concatenated, tool calls merged by
 * `index` (id, type and name from their first delta, argument pieces appended), the last finish
 * reason, and the usage of the usage chunk. Throws `ReplayError` for an empty or malformed stream.
 */
export function chunksToChatCompletion(chunks: readonly unknown[]): ChatCompletion {
  const parsed = chunks.map((ch) => parse(chunkSchema, ch, 'chat.completion.chunk'));
  const first = parsed[0];
  if (!first) throw new ReplayError('a stream without chunks has no completion');
  const choices = new Map<number, ChoiceState>();
  let usage: Usage | null = null;
  let fingerprint = first.system_fingerprint;
  let tier = first.service_tier;

  for (const ch of parsed) {
    if (ch.usage) usage = ch.usage;
    if (ch.system_fingerprint != null) fingerprint = ch.system_fingerprint;
    if (ch.service_tier != null) tier = ch.service_tier;
    for (const { index, delta: d = {}, finish_reason, logprobs } of ch.choices) {
      assertFoldable(d);
      let s = choices.get(index);
      if (!s) choices.set(index, (s = newChoice()));
      if (typeof d.content === 'string') s.content = (s.content ?? '') + d.content;
      if (d.refusal) s.refusal = (s.refusal ?? '') + d.refusal;
      for (const field of REASONING_FIELDS) {
        const text = d[field];
        if (typeof text === 'string') s.reasoning[field] = (s.reasoning[field] ?? '') + text;
      }
      if (d.annotations) s.annotations = [...(s.annotations ?? []), ...d.annotations];
      if (d.function_call) {
        s.functionCall ??= { name: '', arguments: '' };
        if (d.function_call.name) s.functionCall.name = d.function_call.name;
        s.functionCall.arguments += d.function_call.arguments ?? '';
      }
      (d.tool_calls ?? []).forEach((part, i) => {
        const at = part.index ?? i;
        let call = s.toolCalls.get(at);
        if (!call) s.toolCalls.set(at, (call = { id: '', type: 'function', function: { name: '', arguments: '' } }));
        if (part.id) call.id = part.id;
        if (part.type) call.type = part.type;
        if (part.function?.name) call.function.name = part.function.name;
        call.function.arguments += part.function?.arguments ?? '';
      });
      if (finish_reason) s.finish = finish_reason;
      if (logprobs) s.logprobs = mergeLogprobs(s.logprobs, logprobs);
    }
  }

  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, s]) => ({
        index,
        message: {
          role: 'assistant' as const,
          content: s.content,
          refusal: s.refusal,
          ...s.reasoning,
          ...(s.annotations && { annotations: s.annotations }),
          ...(s.functionCall && { function_call: s.functionCall }),
          ...(s.toolCalls.size > 0 && { tool_calls: toolCallList(s.toolCalls) }),
        },
        logprobs: s.logprobs,
        finish_reason: s.finish,
      })),
    ...(usage && { usage }),
    ...(tier !== undefined && { service_tier: tier }),
    ...(fingerprint !== undefined && { system_fingerprint: fingerprint }),
  };
}

function toolCallList(calls: ChoiceState['toolCalls']) {
  return [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, call]) => {
      if (call.type !== 'function') throw new ReplayError(`tool call type "${call.type}" cannot be reassembled`);
      return { id: call.id, type: 'function' as const, function: call.function };
    });
}

function mergeLogprobs(acc: Logprobs | null, next: Logprobs): Logprobs {
  if (!acc) return { ...next };
  return {
    ...acc,
    content: acc.content || next.content ? [...(acc.content ?? []), ...(next.content ?? [])] : (acc.content ?? null),
    refusal: acc.refusal || next.refusal ? [...(acc.refusal ?? []), ...(next.refusal ?? [])] : (acc.refusal ?? null),
  };
}

/**
 * `completion` as the SSE stream OpenAI would have sent for it (its chunks, then [DONE]): a cached
 * JSON answer served to a streamed call, or a host's whole answer to one. Throws ReplayError as
 * chatCompletionToChunks does.
 */
export function chatCompletionSse(completion: unknown, opts: { includeUsage: boolean }): string {
  return toSse(chatCompletionToChunks(completion, opts).map((data) => ({ data })), true);
}

/**
 * Server-sent events text (https://html.spec.whatwg.org/multipage/server-sent-events.html): one
 * `data:` line per event (objects as JSON; strings are taken as already-serialised payloads, and
 * a line break in one starts another `data:` line, which the reader joins back), an `event:` line
 * when named, a blank line after each; then `data: [DONE]` when `done`, as OpenAI ends a stream.
 */
export function toSse(events: ReadonlyArray<{ event?: string; data: unknown }>, done: boolean): string {
  let out = '';
  for (const { event, data } of events) {
    if (event !== undefined) out += `event: ${event}\n`;
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
    out += '\n';
  }
  return done ? `${out}data: [DONE]\n\n` : out;
}
