/**
 * The price table: data, not code. USD per 1M tokens, standard (non-batch, non-priority) tier,
 * text input. Reviewed 2026-11-26 against the vendors' pricing pages (OpenAI
 * https://platform.openai.com/docs/pricing, Anthropic https://platform.claude.com/docs/en/about-claude/pricing,
 * Google https://ai.google.dev/gemini-api/docs/pricing, Groq https://groq.com/pricing) and secondary
 * copies of them; correct a row here, or override it per deployment in config, when a vendor changes it.
 *
 * Conventions:
 * - `cachedInput` missing: the provider gives no cache discount, cached tokens cost `input`.
 * - `cacheWrite` missing: writes cost `input` (only Anthropic charges extra: the 5-minute write
 *   is 1.25x input). `cacheWrite1h`: Anthropic's 1-hour writes, 2x input, which its usage reports
 *   apart (`cache_creation.ephemeral_1h_input_tokens`); missing, they cost `cacheWrite`.
 * - `thinkingOutput`: the output rate of a whole answer that used reasoning (reasoning tokens > 0), for
 *   models billed by whether they thought rather than per token class (the Gemini 2.5 Flash previews:
 *   $0.60 without thinking, $3.50 with); missing, every output token costs `output`.
 * - `longContext`: rates for the whole request when its prompt (including cached and cache-write
 *   tokens) exceeds `aboveTokens`, as Gemini Pro and Claude Sonnet 4/4.5 (1M-context beta) bill.
 * - Models are keyed by their undated name; dated snapshots resolve to it (see cost.ts). A snapshot
 *   that was priced differently gets its own row (gpt-4o-2024-05-13), which wins as an exact match.
 * - Embedding models have no output tokens; `output: 0` there is a real price.
 * - `imageInput`: the rate of image input tokens (usage `input_tokens_details.image_tokens`) of an
 *   image model, which bills them apart from text input; missing, they cost `input`.
 * - `audioInput`: the rate of audio input tokens (usage `input_token_details.audio_tokens`) of a
 *   transcription model (gpt-4o-transcribe); missing, they cost `input`.
 * - `characters`: USD per 1M characters of the request's `input` text, for models billed by the
 *   character rather than by tokens (tts-1, tts-1-hd: their answers report no usage). Their `input`
 *   and `output` are 0: they bill no tokens.
 * - Free models (moderations) are rows of zeros, like Gemini's free embedding model: priced at $0,
 *   which is what they cost, where a missing row is "unknown" (NULL).
 */
import { z } from 'zod';

const rates = {
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cachedInput: z.number().nonnegative().optional(),
  cacheWrite: z.number().nonnegative().optional(),
  cacheWrite1h: z.number().nonnegative().optional(),
  thinkingOutput: z.number().nonnegative().optional(),
  imageInput: z.number().nonnegative().optional(),
  audioInput: z.number().nonnegative().optional(),
  characters: z.number().nonnegative().optional(),
};

export const priceSchema = z.object({
  ...rates,
  longContext: z.object({ aboveTokens: z.number().int().positive(), ...rates }).optional(),
  /**
   * USD per image, for image models billed by the picture (dall-e-2, dall-e-3: their answers report
   * no usage), keyed `quality/size` (`hd/1792x1024`), or `size` alone for a model without qualities.
   */
  perImage: z.record(z.string(), z.number().nonnegative()).optional(),
});

export type Price = z.infer<typeof priceSchema>;

const p = (input: number, output: number, cachedInput?: number, cacheWrite?: number, cacheWrite1h?: number): Price => ({
  input,
  output,
  ...(cachedInput !== undefined && { cachedInput }),
  ...(cacheWrite !== undefined && { cacheWrite }),
  ...(cacheWrite1h !== undefined && { cacheWrite1h }),
});

/** Anthropic: cache reads are 0.1x input, 5-minute cache writes 1.25x input, 1-hour writes 2x. */
const claude = (input: number, output: number): Price => p(input, output, input * 0.1, input * 1.25, input * 2);

const gpt5 = p(1.25, 10, 0.125);
const opus4 = claude(15, 75);
const opus45 = claude(5, 25);
const sonnet = claude(3, 15);
/** Sonnet 4 / 4.5 above 200k prompt tokens (1M-context beta): 2x input, 1.5x output. */
const sonnet1m: Price = { ...sonnet, longContext: { aboveTokens: 200_000, ...claude(6, 22.5) } };

export const PRICES: Readonly<Record<string, Readonly<Record<string, Price>>>> = {
  openai: {
    'gpt-4o': p(2.5, 10, 1.25),
    'gpt-4o-2024-05-13': p(5, 15),
    'gpt-4o-mini': p(0.15, 0.6, 0.075),
    'gpt-4.1': p(2, 8, 0.5),
    'gpt-4.1-mini': p(0.4, 1.6, 0.1),
    'gpt-4.1-nano': p(0.1, 0.4, 0.025),
    'gpt-5': gpt5,
    'gpt-5-chat-latest': gpt5,
    'gpt-5-codex': gpt5,
    'gpt-5.1': gpt5,
    'gpt-5.1-chat-latest': gpt5,
    'gpt-5.1-codex': gpt5,
    'gpt-5-mini': p(0.25, 2, 0.025),
    'gpt-5-nano': p(0.05, 0.4, 0.005),
    'gpt-5-pro': p(15, 120),
    o1: p(15, 60, 7.5),
    'o1-mini': p(1.1, 4.4, 0.55),
    'o1-pro': p(150, 600),
    o3: p(2, 8, 0.5),
    'o3-pro': p(20, 80),
    'o3-mini': p(1.1, 4.4, 0.55),
    'o4-mini': p(1.1, 4.4, 0.275),
    'gpt-4-turbo': p(10, 30),
    'gpt-4': p(30, 60),
    'gpt-4-0613': p(30, 60),
    'gpt-3.5-turbo': p(0.5, 1.5),
    'gpt-3.5-turbo-0125': p(0.5, 1.5),
    // the legacy completions model (/v1/completions)
    'gpt-3.5-turbo-instruct': p(1.5, 2),
    'text-embedding-3-small': p(0.02, 0),
    'text-embedding-3-large': p(0.13, 0),
    'text-embedding-ada-002': p(0.1, 0),
    // Images (https://platform.openai.com/docs/pricing#image-generation): gpt-image-1 reports token
    // usage, text input $5, image input $10, image output $40 per 1M. dall-e-2 and dall-e-3 bill per
    // image by size and quality (their answers report no usage): priced by `perImage`.
    'gpt-image-1': { ...p(5, 40), imageInput: 10 },
    'dall-e-2': { ...p(0, 0), perImage: { '256x256': 0.016, '512x512': 0.018, '1024x1024': 0.02 } },
    'dall-e-3': {
      ...p(0, 0),
      perImage: {
        'standard/1024x1024': 0.04,
        'standard/1024x1792': 0.08,
        'standard/1792x1024': 0.08,
        'hd/1024x1024': 0.08,
        'hd/1024x1792': 0.12,
        'hd/1792x1024': 0.12,
      },
    },
    // Speech: tts-1 and tts-1-hd bill per character of input ($15 and $30 per 1M characters).
    // gpt-4o-mini-tts bills text input $0.60 and audio output $12 per 1M tokens, which only its
    // `stream_format: "sse"` answers report (speech.audio.done); binary audio reports none and is
    // recorded unpriced.
    'tts-1': { ...p(0, 0), characters: 15 },
    'tts-1-hd': { ...p(0, 0), characters: 30 },
    'gpt-4o-mini-tts': p(0.6, 12),
    // Transcription (https://platform.openai.com/docs/pricing#transcription-and-speech-generation):
    // text input, audio input and text output per 1M tokens, all reported in the answer's usage.
    // Whisper bills minutes its usage reports as seconds: no row, unpriced.
    'gpt-4o-transcribe': { ...p(2.5, 10), audioInput: 6 },
    'gpt-4o-mini-transcribe': { ...p(1.25, 5), audioInput: 3 },
    // Moderations are free of charge (https://platform.openai.com/docs/guides/moderation): $0 is
    // their price. Snapshots (`omni-moderation-2024-09-26`, `text-moderation-007`) resolve to the undated names.
    'omni-moderation': p(0, 0),
    'omni-moderation-latest': p(0, 0),
    'text-moderation': p(0, 0),
    'text-moderation-latest': p(0, 0),
    'text-moderation-stable': p(0, 0),
  },
  anthropic: {
    'claude-opus-4-6': opus45,
    'claude-opus-4-5': opus45,
    'claude-opus-4-1': opus4,
    'claude-opus-4': opus4,
    'claude-opus-4-0': opus4,
    'claude-sonnet-4-6': sonnet,
    'claude-sonnet-4-5': sonnet1m,
    'claude-sonnet-4': sonnet1m,
    'claude-sonnet-4-0': sonnet1m,
    'claude-3-7-sonnet': sonnet,
    'claude-3-5-sonnet': sonnet,
    'claude-haiku-4-5': claude(1, 5),
    'claude-3-5-haiku': claude(0.8, 4),
    'claude-3-opus': opus4,
    'claude-3-haiku': p(0.25, 1.25, 0.03, 0.3, 0.5),
  },
  gemini: {
    // Gemini 2.5 and later: cache reads are 10% of input; Gemini 2.0 Flash 25%; 2.0 Flash-Lite has no caching.
    'gemini-3-pro-preview': { ...p(2, 12, 0.2), longContext: { aboveTokens: 200_000, ...p(4, 18, 0.4) } },
    'gemini-3-flash-preview': p(0.5, 3, 0.05),
    'gemini-2.5-pro': { ...p(1.25, 10, 0.125), longContext: { aboveTokens: 200_000, ...p(2.5, 15, 0.25) } },
    'gemini-2.5-flash': p(0.3, 2.5, 0.03),
    // The 2.5 Flash previews before GA were billed apart: $0.15 input, output $0.60 without thinking
    // and $3.50 with it, cache reads 25% of input. Their exact rows win over the `-preview-MM-DD` suffix rule.
    'gemini-2.5-flash-preview-04-17': { ...p(0.15, 0.6, 0.0375), thinkingOutput: 3.5 },
    'gemini-2.5-flash-preview-05-20': { ...p(0.15, 0.6, 0.0375), thinkingOutput: 3.5 },
    'gemini-2.5-flash-lite': p(0.1, 0.4, 0.01),
    'gemini-2.0-flash': p(0.1, 0.4, 0.025),
    'gemini-2.0-flash-lite': p(0.075, 0.3),
    'gemini-embedding-001': p(0.15, 0),
    // Free of charge on the Gemini API (no paid tier is listed): zero is its real price, not "unknown".
    'text-embedding-004': p(0, 0),
  },
  groq: {
    'llama-3.3-70b-versatile': p(0.59, 0.79),
    'llama-3.1-8b-instant': p(0.05, 0.08),
    'openai/gpt-oss-120b': p(0.15, 0.6, 0.075),
  },
  mistral: {
    'mistral-small-2506': p(0.1, 0.3),
    'open-mistral-nemo': p(0.15, 0.15),
  },
  xai: {
    'grok-3': p(3, 15, 0.75),
    'grok-3-mini': p(0.3, 0.5, 0.075),
  },
};

/**
 * Models deliberately left unpriced (priceFor returns null unless config overrides them):
 * - audio/realtime models bill per modality, which token usage here does not split;
 * - aliases that have moved between models of different prices (`-latest`, DeepSeek's names,
 *   which also have off-peak rates), so any fixed row would be wrong some of the time.
 */
export const KNOWN_UNPRICED: ReadonlySet<string> = new Set([
  'openai/gpt-4o-realtime-preview',
  'openai/gpt-4o-mini-realtime-preview',
  'openai/gpt-realtime',
  'openai/gpt-4o-audio-preview',
  'openai/gpt-4o-mini-audio-preview',
  'gemini/gemini-2.5-flash-image',
  'deepseek/deepseek-chat',
  'deepseek/deepseek-reasoner',
  'mistral/mistral-large-latest',
  'mistral/mistral-medium-latest',
  'mistral/mistral-small-latest',
]);
