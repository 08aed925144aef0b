import type { Usage } from './types.ts';

/**
 * Reads an OpenAI-format `usage` object, in either of its two dialects:
 * Chat/Completions/Embeddings (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`,
 * `completion_tokens_details.reasoning_tokens`) and Responses (`input_tokens`, `output_tokens`,
 * `input_tokens_details`, `output_tokens_details`). The non-standard `cache_creation_input_tokens`
 * (added by our Anthropic translation) carries cache writes, and `cache_creation.ephemeral_1h_input_tokens`
 * those of them written to the 1-hour cache (priced higher). The Images API's usage
 * (`input_tokens`, `output_tokens`, `input_tokens_details.image_tokens`) and the Audio API's token
 * usage (gpt-4o-transcribe: `input_tokens`, `output_tokens`, `input_token_details.audio_tokens`) are
 * the Responses dialect; Whisper's
 * `{"type":"duration","seconds":n}` counts no tokens (null).
 * Returns null when there is no usable usage object (e.g. the `"usage": null` of stream chunks).
 */
export function usageFromOpenai(u: unknown): Usage | null {
  if (u === null || typeof u !== 'object') return null;
  const r = u as Record<string, unknown>;
  const prompt = num(r['prompt_tokens']) ?? num(r['input_tokens']);
  const completion = num(r['completion_tokens']) ?? num(r['output_tokens']) ?? 0;
  if (prompt === undefined) return null;
  // (the Audio API says `input_token_details`, without the s)
  const pd = obj(r['prompt_tokens_details']) ?? obj(r['input_tokens_details']) ?? obj(r['input_token_details']);
  const cd = obj(r['completion_tokens_details']) ?? obj(r['output_tokens_details']);
  const cacheWriteTokens = num(r['cache_creation_input_tokens']) ?? 0;
  const cacheWrite1hTokens = Math.min(cacheWriteTokens, num(obj(r['cache_creation'])?.['ephemeral_1h_input_tokens']) ?? 0);
  // an image model's image input (gpt-image-1: `input_tokens_details: {text_tokens, image_tokens}`)
  const imageInputTokens = Math.min(prompt, num(pd?.['image_tokens']) ?? 0);
  // a transcription model's audio input (gpt-4o-transcribe: `input_token_details: {text_tokens, audio_tokens}`)
  const audioInputTokens = Math.min(prompt - imageInputTokens, num(pd?.['audio_tokens']) ?? 0);
  return {
    promptTokens: prompt,
    completionTokens: completion,
    cachedTokens: num(pd?.['cached_tokens']) ?? 0,
    cacheWriteTokens,
    reasoningTokens: num(cd?.['reasoning_tokens']) ?? 0,
    ...(cacheWrite1hTokens > 0 && { cacheWrite1hTokens }),
    ...(imageInputTokens > 0 && { imageInputTokens }),
    ...(audioInputTokens > 0 && { audioInputTokens }),
  };
}

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
}
