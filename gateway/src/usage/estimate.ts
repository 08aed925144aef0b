import type { Usage } from '@watchllm/providers';
import { get_encoding, type Tiktoken } from 'tiktoken';

let encoder: Tiktoken | null = null;

/**
 * Counts tokens with tiktoken's o200k_base encoding. Only a fallback for providers that report no usage:
 * called once per response over the collected text, never per chunk (one call costs ~30 µs and up).
 * For non-OpenAI models it is an estimate, and the event says so (`usage_source = 'estimate'`).
 */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  encoder ??= get_encoding('o200k_base');
  return encoder.encode_ordinary(text).length;
}

/**
 * Top-level fields of a request body that the model reads, on every surface and endpoint: Chat
 * `messages`, Responses `input` and `instructions`, Anthropic `system`, legacy `prompt`, embeddings
 * `input`, and the tool definitions (`tools`, the legacy `functions`), which every vendor bills as
 * prompt tokens.
 */
const PROMPT_FIELDS = ['system', 'instructions', 'prompt', 'input', 'messages', 'contents', 'tools', 'functions'] as const;

/**
 * Keys whose values a model does not read as text: identifiers and bookkeeping, and binary payloads
 * (images, audio, files, as base64 or URLs: their characters tokenise nothing like what the model is
 * billed for them, and an image's base64 would count as hundreds of thousands of tokens). `data` is
 * text in one place, an Anthropic plain-text document source (`{type: "text", data}`).
 */
const NOT_READ: ReadonlySet<string> = new Set([
  'type', 'role', 'id', 'call_id', 'tool_call_id', 'tool_use_id', 'status', 'cache_control', 'signature',
  'encrypted_content', 'detail', 'format', 'media_type', 'mime_type', 'mimeType',
  'image_url', 'url', 'data', 'file_data', 'file_id', 'input_audio', 'headers', 'server_url', 'authorization',
]);

/**
 * Keys whose object values are JSON the model reads as JSON: tool parameter schemas and Anthropic
 * `tool_use.input` (elsewhere these are strings: Chat and Responses `arguments`, custom tools' `input`).
 * They count as their JSON text, property names included.
 */
const AS_JSON: ReadonlySet<string> = new Set(['parameters', 'input_schema', 'input', 'arguments']);

const MAX_DEPTH = 32;

/** What a request carries for the model to read: its text, and the token ids it sends as numbers. */
export interface PromptContent {
  text: string;
  /** token ids sent instead of text (legacy `prompt`, embeddings `input`: `[1, 2]` or `[[1, 2]]`), one token each */
  tokenIds: number;
}

/**
 * The prompt of a request, for the token estimate of a call whose provider reported no usage. One
 * rule for every surface rather than a list of places to look: every string in the PROMPT_FIELDS
 * counts, however deep (message contents and parts, tool calls and their arguments, tool results as
 * Chat `tool` messages, Responses `function_call_output.output` and Anthropic `tool_result.content`,
 * whether a string or parts, reasoning summaries, tool names and descriptions), except under NOT_READ
 * keys; AS_JSON objects count as JSON text; numbers in arrays are token ids.
 */
export function promptOf(body: Record<string, unknown> | null): PromptContent {
  const found = { texts: [] as string[], tokenIds: 0 };
  if (body !== null) for (const key of PROMPT_FIELDS) walk(body[key], found, 0);
  return { text: found.texts.join('\n'), tokenIds: found.tokenIds };
}

function walk(v: unknown, found: { texts: string[]; tokenIds: number }, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (typeof v === 'string') {
    found.texts.push(v);
  } else if (Array.isArray(v)) {
    for (const item of v) {
      if (typeof item === 'number') found.tokenIds++;
      else walk(item, found, depth + 1);
    }
  } else if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const key in o) {
      const child = o[key];
      if (NOT_READ.has(key) && !(key === 'data' && o['type'] === 'text')) continue;
      if (AS_JSON.has(key) && child !== null && typeof child === 'object' && !Array.isArray(child)) found.texts.push(JSON.stringify(child));
      else walk(child, found, depth + 1);
    }
  }
}

export function estimateUsage(body: Record<string, unknown> | null, answer: string): Usage {
  const prompt = promptOf(body);
  return {
    promptTokens: countTokens(prompt.text) + prompt.tokenIds,
    completionTokens: countTokens(answer),
    cachedTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}
