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

/** Text of a request body that a model reads: message contents, system, prompt, input, instructions. */
export function promptText(body: Record<string, unknown> | null): string {
  if (body === null) return '';
  const out: string[] = [];
  for (const key of ['system', 'instructions', 'prompt', 'input', 'messages', 'contents']) collect(body[key], out, 0);
  return out.join('\n');
}

function collect(v: unknown, out: string[], depth: number): void {
  if (depth > 8) return;
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const item of v) collect(item, out, depth + 1);
  else if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const key of ['content', 'text', 'input', 'arguments', 'parts']) collect(o[key], out, depth + 1);
    const fn = o['function'];
    if (fn !== null && typeof fn === 'object') collect((fn as Record<string, unknown>)['arguments'], out, depth + 1);
  }
}

export function estimateUsage(body: Record<string, unknown> | null, answer: string): Usage {
  return {
    promptTokens: countTokens(promptText(body)),
    completionTokens: countTokens(answer),
    cachedTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}
