/**
 * Which provider serves a model. Pure: the caller passes the known provider ids.
 *
 * Order (first match wins):
 * 1. the `x-watchllm-provider` header;
 * 2. a `provider/model` prefix naming a known provider (`anthropic/claude-sonnet-4-5`), else a glob
 *    declared in config matching the whole `org/model` name (`meta-llama/*` on a vLLM host);
 * 3. model patterns declared in config, then the well-known name patterns below;
 * 4. the configured default provider.
 * A `x/model` prefix that names no provider is an error rather than a guess, so a typo never sends a
 * prompt (and a key) to the wrong company; a prefix with nothing after it (`openai/`) is an error too,
 * rather than a call with an empty model.
 * Names match whatever their case (`Anthropic/Claude-Haiku-4-5` is Anthropic's, as config globs are
 * case-insensitive too): a capital letter must not send a Claude prompt and its key to the default
 * provider. The model name goes upstream as the client spelled it, only the prefix removed.
 */

export interface RouteInput {
  model: string;
  providerHeader: string | null;
  known: ReadonlySet<string>;
  defaultProvider: string;
  /** Config-declared patterns, checked before the built-in ones. */
  patterns?: ReadonlyArray<{ provider: string; pattern: RegExp }>;
}

export type RouteResult =
  | { ok: true; provider: string; model: string }
  | { ok: false; message: string; param: 'model' | 'x-watchllm-provider'; code: 'unknown_provider' | 'missing_model' };

/** Well-known model families, case-insensitive. Only consulted for providers that are known. */
export const MODEL_PATTERNS: ReadonlyArray<{ provider: string; pattern: RegExp }> = [
  { provider: 'anthropic', pattern: /^claude-/i },
  { provider: 'gemini', pattern: /^(gemini-|gemma-|text-embedding-004$|gemini-embedding-)/i },
  {
    provider: 'openai',
    pattern: /^(gpt-|o\d|chatgpt-|text-embedding-|davinci|babbage|omni-moderation|text-moderation|dall-e|whisper|tts-|codex-)/i,
  },
  { provider: 'xai', pattern: /^grok-/i },
  { provider: 'deepseek', pattern: /^deepseek-/i },
  { provider: 'mistral', pattern: /^(mistral-|codestral-|ministral-|pixtral-|magistral-|open-mistral-)/i },
];

export function resolveRoute(input: RouteInput): RouteResult {
  const r = pickRoute(input);
  // `openai/` strips to '': a provider would get `model: ""` and answer with its own confusing error.
  if (r.ok && r.model === '') {
    const message = `The model '${input.model}' names the provider '${r.provider}' but no model: send '${r.provider}/<model>'.`;
    return { ok: false, message, param: 'model', code: 'missing_model' };
  }
  return r;
}

function pickRoute(input: RouteInput): RouteResult {
  const { model, providerHeader, known } = input;
  const slash = model.indexOf('/');
  // provider ids are lower-case (config enforces it); the prefix names one whatever its case
  const prefix = slash > 0 ? model.slice(0, slash).toLowerCase() : null;

  if (providerHeader) {
    const id = providerHeader.trim().toLowerCase();
    if (!known.has(id)) {
      return { ok: false, message: unknownProviderMessage(id, known), param: 'x-watchllm-provider', code: 'unknown_provider' };
    }
    // `x-watchllm-provider: groq` with `groq/llama-3` is the same route; any other slash stays in the
    // model name (OpenRouter and Together use `org/model` names).
    return { ok: true, provider: id, model: prefix === id ? model.slice(slash + 1) : model };
  }

  if (prefix !== null) {
    if (known.has(prefix)) return { ok: true, provider: prefix, model: model.slice(slash + 1) };
    // Hugging Face-style names (`meta-llama/Llama-3-8B`) have a slash of their own: a glob a provider
    // declares for them routes the whole name. Anything else with an unknown prefix is a typo.
    for (const { provider, pattern } of input.patterns ?? []) {
      if (known.has(provider) && pattern.test(model)) return { ok: true, provider, model };
    }
    return { ok: false, message: unknownProviderMessage(prefix, known), param: 'model', code: 'unknown_provider' };
  }

  for (const { provider, pattern } of [...(input.patterns ?? []), ...MODEL_PATTERNS]) {
    if (known.has(provider) && pattern.test(model)) return { ok: true, provider, model };
  }
  return { ok: true, provider: input.defaultProvider, model };
}

/** The message for a provider id that names no configured provider (lists the known ones). */
export function unknownProviderMessage(id: string, known: ReadonlySet<string>): string {
  return `Unknown provider '${id}'. Known providers: ${[...known].sort().join(', ')}.`;
}
