import { characterCostUsd, costUsd, isFree, MEDIA_ENDPOINTS, usageFromOpenai, type Price } from '@watchllm/providers';
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
 * otherwise unknown (`unmetered`: a dall-e image, Whisper's seconds, gpt-4o-mini-tts audio), which
 * the event records as NULL, never $0. A call with usage is priced by it as any other.
 */
export function settleMediaCost(x: Exchange, price: Price | null): void {
  if (!MEDIA_ENDPOINTS.has(x.endpoint) || x.route === null || x.upstream.status !== 200 || x.outcome === 'cache_hit') return;
  if (x.response.usage !== null) {
    x.costUsd = price ? costUsd(price, x.response.usage) : null;
    return;
  }
  if (price && isFree(price)) {
    x.costUsd = 0;
    return;
  }
  const input = x.request.body?.['input'];
  const byCharacter = price && x.endpoint === 'speech' && typeof input === 'string' ? characterCostUsd(price, [...input].length) : null;
  if (byCharacter !== null) x.costUsd = byCharacter;
  else x.unmetered = true;
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

/** The terminal event of a media stream (images' `image_generation.completed`, transcriptions' `transcript.text.done`). */
export const MEDIA_STREAM_END: ReadonlySet<string> = new Set(['image_generation.completed', 'transcript.text.done']);
