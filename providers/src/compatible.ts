import { openaiStyleProvider } from './openai/index.ts';
import type { Provider } from './types.ts';

/**
 * OpenAI-compatible hosts known out of the box: data, not code. Each row is a provider id (also the
 * `provider/` model prefix and the `WATCHLLM_<ID>_*` env name) and its default base URL in the form the
 * OpenAI SDK's `baseURL` takes. Any other host is declared in watchllm.yaml with `kind: openai-compatible`.
 * `streamUsage: false`: the host refuses `stream_options.include_usage`, which the gateway otherwise
 * adds to streams for their usage (Mistral answers 422 `extra_forbidden`, and reports usage on its
 * last chunk without being asked).
 */
export const COMPATIBLE_HOSTS: ReadonlyArray<{ id: string; baseUrl: string; keyless?: boolean; streamUsage?: boolean }> = [
  { id: 'groq', baseUrl: 'https://api.groq.com/openai/v1' },
  { id: 'mistral', baseUrl: 'https://api.mistral.ai/v1', streamUsage: false },
  { id: 'deepseek', baseUrl: 'https://api.deepseek.com/v1' },
  { id: 'together', baseUrl: 'https://api.together.xyz/v1' },
  { id: 'fireworks', baseUrl: 'https://api.fireworks.ai/inference/v1' },
  { id: 'openrouter', baseUrl: 'https://openrouter.ai/api/v1' },
  { id: 'xai', baseUrl: 'https://api.x.ai/v1' },
  { id: 'perplexity', baseUrl: 'https://api.perplexity.ai' },
  { id: 'cerebras', baseUrl: 'https://api.cerebras.ai/v1' },
  { id: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', keyless: true },
  { id: 'vllm', baseUrl: 'http://127.0.0.1:8000/v1', keyless: true },
];

export function compatibleProvider(id: string): Provider {
  return openaiStyleProvider(id, 'openai-compatible');
}
