/**
 * What the fake provider answers with, and the deterministic token rules tests rely on.
 *
 * Token rule (all providers): a "token" is a maximal run of non-whitespace characters.
 * - prompt words = words in the request's text (see each provider's `promptWords`): message
 *   contents and text parts, system/instructions, legacy `prompt`, embeddings `input` (a token-id
 *   array counts one per id). Roles, tool definitions and model names never count.
 * - output words = words of the answer text, plus for each tool call 1 (its name) + the words of
 *   `JSON.stringify(arguments)`.
 * - promptTokens (total, OpenAI's accounting) = prompt words + cachedTokens + cacheWriteTokens, so
 *   Anthropic's `input_tokens` (which excludes cache reads/writes) is always the prompt words.
 * - completionTokens = output words + reasoningTokens (reasoning is part of completion, as at OpenAI).
 * Any count given in `Scenario.usage` replaces the computed one.
 */

export interface ToolCallSpec {
  name: string;
  arguments: Record<string, unknown>;
}

export interface UsageOverride {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
  /** Anthropic: of cacheWriteTokens, those reported as 1-hour cache writes (`cache_creation`); default 0 */
  cacheWrite1hTokens?: number;
  reasoningTokens?: number;
}

export interface MidStreamError {
  /** content deltas sent before the in-stream error event */
  afterChunks: number;
  errorType?: string;
  message?: string;
}

export interface Scenario {
  /** answer text; default `Hello from fake <model>` */
  text?: string;
  /** how many content pieces to stream; default one per word */
  chunks?: number;
  /** answer with this tool call when the request offers tools */
  toolCall?: ToolCallSpec;
  /**
   * answer with these tool calls at once (parallel tool calls), in this order, when the request
   * offers tools; replaces `toolCall` when both are set (an empty list: no tool call)
   */
  toolCalls?: ToolCallSpec[];
  /**
   * Responses API only: a `reasoning` output item before the answer, as o-series and gpt-5 models
   * send it. Its summary (one `summary_text` part per string) is filled only when the request asks
   * for one with `reasoning.summary` (auto, concise or detailed), as the API does; otherwise the
   * item comes with `summary: []`. Reasoning tokens still come from `usage.reasoningTokens`.
   */
  reasoningSummary?: string | string[];
  /** answer with this HTTP status and the provider's error body */
  status?: number;
  errorType?: string;
  errorMessage?: string;
  /**
   * the model's context window in tokens (words here): a prompt plus max_tokens beyond it is refused
   * with the provider's own context-length error (OpenAI `context_length_exceeded`, Anthropic
   * "prompt is too long")
   */
  contextWindow?: number;
  /** seconds for `retry-after` on 429/503/529; default 1 */
  retryAfter?: number;
  /** delay before the response headers */
  latencyMs?: number;
  /** delay before each stream frame after the first */
  chunkDelayMs?: number;
  /** destroy the socket after N content deltas, without the terminating event */
  dropAfterChunks?: number;
  /**
   * end the response cleanly after N content deltas, without the rest (no finish, usage or end
   * event): a stream cut short by something in between that closes it properly
   */
  endAfterChunks?: number;
  /** extra delay before the headers (to exercise timeouts) */
  hangMs?: number;
  /** leave usage out (OpenAI-format and Gemini; Anthropic always reports usage) */
  omitUsage?: boolean;
  /**
   * write OpenAI-format stream chunks as Python's json.dumps does (`{"id": "x", "usage": null}`),
   * as some OpenAI-compatible hosts do; OpenAI itself writes compact JSON
   */
  spacedJson?: boolean;
  usage?: UsageOverride;
  /** `length` makes the answer stop as truncated (finish_reason length / max_tokens / MAX_TOKENS) */
  finishReason?: 'stop' | 'length';
  /** send the provider's in-stream error event after N content deltas, then end the stream */
  midStreamError?: MidStreamError;
  /**
   * Responses API, `background: true`: how long (ms) the response stays `in_progress` after it is
   * created (retrievable, cancellable); default 0, finished by the time it is first retrieved
   */
  backgroundMs?: number;
}

export interface TokenCounts {
  prompt: number;
  completion: number;
  cached: number;
  cacheWrite: number;
  /** of cacheWrite, the 1-hour writes (only when the scenario gives them) */
  cacheWrite1h?: number;
  reasoning: number;
}

/** Counts maximal runs of non-whitespace characters, without allocating. */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160;
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      n++;
    }
  }
  return n;
}

/** Output words for an answer: its text, plus 1 + words of the JSON arguments for each tool call. */
export function outputWords(text: string, toolCalls: ToolCallSpec | readonly ToolCallSpec[] | undefined): number {
  const calls: readonly ToolCallSpec[] = toolCalls === undefined ? [] : 'name' in toolCalls ? [toolCalls] : toolCalls;
  let n = countWords(text);
  for (const c of calls) n += 1 + countWords(JSON.stringify(c.arguments));
  return n;
}

/** The tool calls a scenario asks for: `toolCalls` when set, else `toolCall` alone. */
export function scenarioToolCalls(s: Scenario): ToolCallSpec[] {
  return s.toolCalls ?? (s.toolCall ? [s.toolCall] : []);
}

/** The reasoning summary parts a scenario asks for (none when it asks for no reasoning item). */
export function summaryParts(s: Scenario): string[] {
  const r = s.reasoningSummary;
  return r === undefined ? [] : typeof r === 'string' ? [r] : r;
}

export function resolveUsage(promptWords: number, outWords: number, o: UsageOverride = {}): TokenCounts {
  const cached = o.cachedTokens ?? 0;
  const cacheWrite = o.cacheWriteTokens ?? 0;
  const reasoning = o.reasoningTokens ?? 0;
  return {
    prompt: o.promptTokens ?? promptWords + cached + cacheWrite,
    completion: o.completionTokens ?? outWords + reasoning,
    cached,
    cacheWrite,
    reasoning,
    ...(o.cacheWrite1hTokens !== undefined && { cacheWrite1h: o.cacheWrite1hTokens }),
  };
}

/**
 * Splits `text` into `n` pieces whose concatenation is `text`. Without `n`, one piece per word
 * (with its trailing whitespace). With more pieces asked than words, splits by characters.
 */
export function splitText(text: string, n?: number): string[] {
  if (text.length === 0) return [''];
  const words = text.match(/\s*\S+\s*/g) ?? [text];
  if (n === undefined) return words;
  const pieces = Math.max(1, Math.min(Math.floor(n), text.length));
  if (pieces > words.length) return splitEven(text, pieces);
  const out: string[] = [];
  for (let i = 0; i < pieces; i++) {
    const from = Math.floor((i * words.length) / pieces);
    const to = Math.floor(((i + 1) * words.length) / pieces);
    out.push(words.slice(from, to).join(''));
  }
  return out;
}

/** Splits a string into `n` character ranges of near-equal length (n clamped to [1, length]). */
export function splitEven(s: string, n: number): string[] {
  const pieces = Math.max(1, Math.min(Math.floor(n), s.length));
  const out: string[] = [];
  for (let i = 0; i < pieces; i++) {
    out.push(s.slice(Math.floor((i * s.length) / pieces), Math.floor(((i + 1) * s.length) / pieces)));
  }
  return out;
}

/** Default number of partial-JSON pieces for streamed tool arguments: several, like real APIs. */
export function argumentPieces(json: string, chunks: number | undefined): string[] {
  return splitEven(json, chunks ?? Math.min(8, Math.max(2, Math.ceil(json.length / 12))));
}

/** Later scenarios override earlier ones field by field; `undefined` fields are skipped. */
export function mergeScenarios(...layers: Array<Scenario | undefined>): Scenario {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  }
  return out as Scenario;
}

const NUMBER_FIELDS = [
  'chunks', 'status', 'retryAfter', 'latencyMs', 'chunkDelayMs', 'dropAfterChunks', 'endAfterChunks', 'hangMs', 'contextWindow',
  'backgroundMs',
] as const;
const STRING_FIELDS = ['text', 'errorType', 'errorMessage'] as const;
const USAGE_FIELDS = [
  'promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'reasoningTokens',
] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses the `x-fake-scenario` header (JSON). Throws a readable Error on a wrong shape, so a
 * typo in a test fails loudly instead of silently answering the default.
 */
export function parseScenario(json: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('x-fake-scenario: not valid JSON');
  }
  if (!isRecord(raw)) throw new Error('x-fake-scenario: expected a JSON object');
  const known = new Set<string>([
    ...NUMBER_FIELDS, ...STRING_FIELDS, 'toolCall', 'toolCalls', 'reasoningSummary', 'omitUsage', 'spacedJson', 'usage', 'finishReason', 'midStreamError',
  ]);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new Error(`x-fake-scenario: unknown field ${k}`);
  for (const k of NUMBER_FIELDS) {
    if (raw[k] !== undefined && typeof raw[k] !== 'number') throw new Error(`x-fake-scenario: ${k} must be a number`);
  }
  for (const k of STRING_FIELDS) {
    if (raw[k] !== undefined && typeof raw[k] !== 'string') throw new Error(`x-fake-scenario: ${k} must be a string`);
  }
  for (const k of ['omitUsage', 'spacedJson'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'boolean') throw new Error(`x-fake-scenario: ${k} must be a boolean`);
  }
  if (raw.finishReason !== undefined && raw.finishReason !== 'stop' && raw.finishReason !== 'length') {
    throw new Error('x-fake-scenario: finishReason must be "stop" or "length"');
  }
  const isCall = (tc: unknown): boolean => isRecord(tc) && typeof tc.name === 'string' && isRecord(tc.arguments);
  if (raw.toolCall !== undefined && !isCall(raw.toolCall)) {
    throw new Error('x-fake-scenario: toolCall must be {name: string, arguments: object}');
  }
  if (raw.toolCalls !== undefined && !(Array.isArray(raw.toolCalls) && raw.toolCalls.every(isCall))) {
    throw new Error('x-fake-scenario: toolCalls must be an array of {name: string, arguments: object}');
  }
  const rs = raw.reasoningSummary;
  if (rs !== undefined && typeof rs !== 'string' && !(Array.isArray(rs) && rs.every((p) => typeof p === 'string'))) {
    throw new Error('x-fake-scenario: reasoningSummary must be a string or an array of strings');
  }
  const usage = raw.usage;
  if (usage !== undefined) {
    if (!isRecord(usage)) throw new Error('x-fake-scenario: usage must be an object');
    for (const [k, v] of Object.entries(usage)) {
      if (!(USAGE_FIELDS as readonly string[]).includes(k) || typeof v !== 'number') {
        throw new Error(`x-fake-scenario: usage.${k} is not a known token count`);
      }
    }
  }
  const mid = raw.midStreamError;
  if (mid !== undefined && !(isRecord(mid) && typeof mid.afterChunks === 'number')) {
    throw new Error('x-fake-scenario: midStreamError must be {afterChunks: number, errorType?, message?}');
  }
  // Every field was checked above against the Scenario shape.
  return raw as Scenario;
}
