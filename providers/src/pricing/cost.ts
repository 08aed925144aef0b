/**
 * Price lookup and cost. Pure and allocation-light: it runs once per request on the hot path.
 *
 * Resolution of (provider, model) to a price, first hit wins:
 * 1. The model name is lower-cased and a Gemini `models/` prefix dropped; `azure` prices as
 *    `openai` (same model names, same list prices for Global deployments).
 * 2. Candidates, in order: the full name, then the name with one snapshot suffix removed
 *    (`-2024-08-06`, `-20250514`, `@20250514` (Vertex), `-001`, `-latest`, `-preview-09-2025`,
 *    `-preview-06-17`). Removing only these suffixes, never arbitrary tails, is what keeps
 *    `gpt-4o-audio-preview` from pricing as `gpt-4o`; the longest match wins because the full
 *    name is tried first (`gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`, not `gpt-4o`).
 * 3. For each candidate: a config override, then KNOWN_UNPRICED (null), then the table.
 * Anything else is null: unknown, never 0.
 */
import { z } from 'zod';
import type { Usage } from '../types.ts';
import { KNOWN_UNPRICED, PRICES, type Price } from './prices.ts';

export { KNOWN_UNPRICED, type Price } from './prices.ts';

const SNAPSHOT_SUFFIX = /(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-\d{3}|-latest|-preview-\d{2}-\d{2}(?:\d{2})?)$/;

const perMillion = z.number().nonnegative().finite();

/**
 * Config overrides, keyed `provider/model` (the model may itself contain `/`, e.g.
 * `groq/openai/gpt-oss-120b`), USD per 1M tokens. Keys are matched case-insensitively.
 * @example {"openai/gpt-4o": {"input": 2.5, "output": 10, "cached_input": 1.25}}
 * `cache_write_1h` prices Anthropic's 1-hour cache writes; without it they cost `cache_write`.
 * `image_input` prices an image model's image input tokens, `audio_input` a transcription model's audio input tokens; `characters` is USD per 1M characters
 * of input for models billed by the character (tts-1); `per_image` is USD per image, keyed
 * `quality/size` or `size` (`{"hd/1024x1024": 0.08}`), for models billed by the picture (dall-e).
 */
export const priceOverrideSchema = z
  .record(
    z.string().regex(/^[^/\s]+\/\S+$/, 'expected "provider/model"'),
    z.strictObject({
      input: perMillion,
      output: perMillion,
      cached_input: perMillion.optional(),
      cache_write: perMillion.optional(),
      cache_write_1h: perMillion.optional(),
      image_input: perMillion.optional(),
      audio_input: perMillion.optional(),
      characters: perMillion.optional(),
      // USD per image (not per 1M), keyed `quality/size` or `size`: see Price.perImage
      per_image: z.record(z.string(), z.number().nonnegative()).optional(),
    }),
  )
  .transform((o) => {
    const out: Record<string, Price> = {};
    for (const [key, v] of Object.entries(o)) {
      out[key.toLowerCase()] = {
        input: v.input,
        output: v.output,
        ...(v.cached_input !== undefined && { cachedInput: v.cached_input }),
        ...(v.cache_write !== undefined && { cacheWrite: v.cache_write }),
        ...(v.cache_write_1h !== undefined && { cacheWrite1h: v.cache_write_1h }),
        ...(v.image_input !== undefined && { imageInput: v.image_input }),
        ...(v.audio_input !== undefined && { audioInput: v.audio_input }),
        ...(v.characters !== undefined && { characters: v.characters }),
        ...(v.per_image !== undefined && { perImage: v.per_image }),
      };
    }
    return out;
  });

/** Parsed overrides (`priceOverrideSchema.parse(config.prices)`): lower-cased keys, table-shaped prices. */
export type PriceOverrides = z.output<typeof priceOverrideSchema>;

/**
 * The price of `model` at `provider`: an override keyed by the provider, or by its price table,
 * else the built-in table. `billsAs` is the provider whose prices apply (a provider declared with
 * `kind: openai` under an id of its own bills like OpenAI); by default the provider itself. Azure
 * bills OpenAI's models at OpenAI's prices.
 */
export function priceFor(provider: string, model: string, overrides?: PriceOverrides, billsAs = provider): Price | null {
  const table = billsAs === 'azure' ? 'openai' : billsAs;
  let name = model.toLowerCase();
  if (name.startsWith('models/')) name = name.slice('models/'.length);
  const stripped = name.replace(SNAPSHOT_SUFFIX, '');
  for (const candidate of stripped === name ? [name] : [name, stripped]) {
    const override = overrides && (overrides[`${provider}/${candidate}`] ?? overrides[`${table}/${candidate}`]);
    if (override) return override;
    if (KNOWN_UNPRICED.has(`${table}/${candidate}`)) return null;
    const price = PRICES[table]?.[candidate];
    if (price) return price;
  }
  return null;
}

/**
 * Cost in USD. Usage follows OpenAI's accounting: promptTokens includes cached and cache-write
 * tokens, completionTokens includes reasoning tokens (priced as output, as every vendor bills them).
 * Cache writes price by lifetime: the 1-hour ones (cacheWrite1hTokens, part of cacheWriteTokens) at
 * `cacheWrite1h`, the rest at `cacheWrite`. An answer with reasoning tokens pays `thinkingOutput`, where
 * a price has one, for all its output.
 * An image model's image input tokens (part of the uncached input) cost `imageInput` where a price has
 * one, a transcription model's audio input tokens `audioInput`.
 * Rounded to 1e-12 USD so float noise does not show up in stored sums.
 */
export function costUsd(price: Price, usage: Usage): number {
  const r = price.longContext && usage.promptTokens > price.longContext.aboveTokens ? price.longContext : price;
  const fresh = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  const images = Math.min(usage.imageInputTokens ?? 0, fresh);
  const audio = Math.min(usage.audioInputTokens ?? 0, fresh - images);
  const uncached = fresh - images - audio;
  const writes1h = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  const write = r.cacheWrite ?? r.input;
  const micro =
    uncached * r.input +
    images * (r.imageInput ?? r.input) +
    audio * (r.audioInput ?? r.input) +
    usage.cachedTokens * (r.cachedInput ?? r.input) +
    (usage.cacheWriteTokens - writes1h) * write +
    writes1h * (r.cacheWrite1h ?? write) +
    usage.completionTokens * (usage.reasoningTokens > 0 ? (r.thinkingOutput ?? r.output) : r.output);
  return Math.round(micro * 1e6) / 1e12;
}

/**
 * The cost of a call to a model billed by the character of its input (`characters`: tts-1), or null
 * for a price without that rate. Rounded like costUsd.
 */
export function characterCostUsd(price: Price, characters: number): number | null {
  if (price.characters === undefined) return null;
  return Math.round(characters * price.characters * 1e6) / 1e12;
}

/** A price of nothing at all (a free model: moderations): any call to it costs $0, usage or not. */
export function isFree(price: Price): boolean {
  return price.input === 0 && price.output === 0 && !price.characters && !price.imageInput && !price.audioInput && !price.perImage && !price.cachedInput && !price.cacheWrite && !price.longContext;
}

/**
 * What `n` images cost where a price is per image (dall-e): the rate of the quality and size asked
 * (OpenAI's defaults when unsaid: standard, 1024x1024), or, for a quality or size the table does not
 * list (`auto`), the dearest image of the model; null without a per-image price.
 */
export function imagesCostUsd(price: Price, n: number, quality: unknown, size: unknown): number | null {
  const table = price.perImage;
  if (!table) return null;
  const s = typeof size === 'string' ? size : '1024x1024';
  const q = typeof quality === 'string' ? quality : 'standard';
  const rate = table[`${q}/${s}`] ?? table[s] ?? Math.max(0, ...Object.values(table));
  return Math.round(n * rate * 1e12) / 1e12;
}
