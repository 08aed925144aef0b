import { characterCostUsd, costUsd, imagesCostUsd, isFree, MEDIA_ENDPOINTS, usageFromOpenai, type Price } from '@watchllm/providers';
import type { Exchange } from '../exchange.ts';
import { MAX_MODEL_CHARS } from './parse.ts';

/**
 * Decisions about OpenAI's media endpoints (moderations, images, speech, transcriptions,
 * translations), apart from the I/O of answering them (respond-media.ts). Their answers are not
 * text a model wrote token by token: usage is whatever the provider reports (gpt-image-1 and
 * gpt-4o-transcribe report tokens; dall-e, Whisper and the tts models report none), and a missing
 * usage is never estimated with tiktoken (an image or a second of audio is no number of tokens).
 */

/**
 * What a complete JSON answer of a media endpoint tells: its usage, and for a moderation that named
 * no model, the model that answered (`omni-moderation-latest` answers as `omni-moderation-2024-09-26`):
 * the call is recorded, and priced, as that model.
 */
export function readMediaAnswer(x: Exchange, out: unknown): void {
  if (out === null || typeof out !== 'object') return;
  const o = out as Record<string, unknown>;
  const usage = usageFromOpenai(o['usage']);
  if (usage) {
    x.response.usage = usage;
    x.response.usageSource = 'provider';
  }
  const model = o['model'];
  if (x.endpoint === 'moderations' && x.request.model === null && typeof model === 'string' && model !== '' && model.length <= MAX_MODEL_CHARS && x.route) {
    x.request.model = model;
    x.route = { ...x.route, model };
  }
}

/** A call that named no model and was told by its answer which one served it (readMediaAnswer). */
export function answerNamesModel(x: Exchange): boolean {
  return x.endpoint === 'moderations' && x.route !== null && x.route.model !== '' && x.request.body !== null && typeof x.request.body['model'] !== 'string';
}

/**
 * The cost of a media call the provider answered without usage: $0 for a free model (moderations);
 * by the character of its input for a model billed so (tts-1, tts-1-hd: `Price.characters`);
 * by the image for a model billed so (dall-e: `Price.perImage`, at the quality and size asked);
 * otherwise unknown (`unmetered`: Whisper's seconds, gpt-4o-mini-tts binary audio), which
 * the event records as NULL, never $0. A call with usage is priced by it as any other.
 */
export function settleMediaCost(x: Exchange, price: Price | null): void {
  if (!MEDIA_ENDPOINTS.has(x.endpoint) || x.route === null || x.upstream.status !== 200 || x.outcome === 'cache_hit') return;
  const cost = price ? mediaCostUsd(x, price) : null;
  // tokens without a price are unpriced as any call's (the row says so); no usage and no unit price: unmetered
  if (cost !== null || x.response.usage !== null) x.costUsd = cost;
  else x.unmetered = true;
}

/**
 * What a media answer costs, as settleMediaCost will record it, for the x-watchllm-cost-usd header
 * of a complete answer (respond-json.ts); null when unknown.
 */
export function mediaCostUsd(x: Exchange, price: Price): number | null {
  return x.response.usage !== null ? costUsd(price, x.response.usage) : unitCostUsd(x, price);
}

/** A media call priced by its units rather than tokens: free, by the character, by the image; null when none applies. */
function unitCostUsd(x: Exchange, price: Price): number | null {
  const body = x.request.body ?? {};
  // per image before "free": a price without token rates may still bill images
  if (x.endpoint === 'images' && price.perImage) return imagesCostUsd(price, imageCount(body), body['quality'], body['size']);
  if (isFree(price)) return 0;
  const input = body['input'];
  if (x.endpoint === 'speech' && typeof input === 'string') return characterCostUsd(price, [...input].length);
  return null;
}

/** The images a call asks for (`n`, 1 when unsaid). */
function imageCount(body: Record<string, unknown>): number {
  const n = body['n'];
  return typeof n === 'number' && Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
}

/**
 * An Images API answer as the event stores it: each image's base64 (megabytes) replaced by its
 * size, so what is kept of the body (capped at 32 KiB) shows the answer's shape and usage rather
 * than the first kilobytes of a PNG.
 */
export function imagesStoredBody(out: unknown): string {
  if (out === null || typeof out !== 'object' || !Array.isArray((out as { data?: unknown }).data)) return JSON.stringify(out);
  const o = out as { data: unknown[] };
  const data = o.data.map((d) => {
    if (d === null || typeof d !== 'object') return d;
    const b64 = (d as Record<string, unknown>)['b64_json'];
    return typeof b64 === 'string' ? { ...d, b64_json: `[base64: ${b64.length} characters]` } : d;
  });
  return JSON.stringify({ ...o, data });
}

/**
 * The terminal event of a media stream (images' `image_generation.completed`, transcriptions'
 * `transcript.text.done`, speech's `speech.audio.done` with `stream_format: "sse"`), which carries its usage.
 */
export const MEDIA_STREAM_END: ReadonlySet<string> = new Set(['image_generation.completed', 'transcript.text.done', 'speech.audio.done']);

/**
 * Output tokens gpt-image-1 may use for one image, by quality and size
 * (https://platform.openai.com/docs/guides/image-generation, "Cost and latency": 1024x1024 is
 * 272 / 1056 / 4160 tokens at low / medium / high; 1024x1536 and 1536x1024 are 408 / 1584 / 6240).
 * `auto` (or a quality or size it does not list) may be the dearest: high, not square.
 */
function imageOutputTokens(quality: unknown, size: unknown): number {
  const square = size === '1024x1024';
  if (quality === 'low') return square ? 272 : 408;
  if (quality === 'medium') return square ? 1056 : 1584;
  return square ? 4160 : 6240;
}

/**
 * The most a media call may produce, for its reservation (limits.ts), in place of a chat call's
 * max_tokens: the Images API has no max_tokens, but n images of a size and quality; speech is billed
 * by the characters of its input. Transcriptions and moderations reserve their prompt only (the
 * audio tokens a transcription bills are not known before its answer; moderations are free).
 */
export function mediaReservation(x: Exchange, price: Price | null): { tokens: number; usd: number } {
  const body = x.request.body ?? {};
  if (x.endpoint === 'images' && price?.perImage === undefined) {
    // gpt-image-1 is priced by the tokens it reports (unpriced: nothing to reserve)
    const tokens = imageCount(body) * imageOutputTokens(body['quality'], body['size']);
    return price ? { tokens, usd: (tokens * price.output) / 1e6 } : { tokens: 0, usd: 0 };
  }
  // dall-e's images, speech's characters: what settleMediaCost will charge for them
  return { tokens: 0, usd: (price ? unitCostUsd(x, price) : null) ?? 0 };
}

/** How a refusal names what makes up a call's worst case, and what the caller can lower. */
export function worstCaseOf(x: Exchange): { of: string; lower: string } {
  if (x.endpoint === 'images') return { of: 'its prompt and its images at the size and quality asked', lower: 'n, the size or the quality' };
  if (x.endpoint === 'speech') return { of: "its input's characters", lower: 'the input' };
  return { of: 'its prompt and max_tokens', lower: 'max_tokens' };
}
