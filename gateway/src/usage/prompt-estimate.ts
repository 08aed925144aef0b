/**
 * Tokens counted for one image sent inline (base64), whatever its size: 1,600, the most Anthropic
 * charges for an image (it resizes to about 1.15 megapixels, width × height / 750 ≈ 1,600 tokens).
 * That is above what OpenAI charges for a high-detail image on gpt-4o (85 + 170 per 512 px tile:
 * 765 for 1024×1024, 1,105 for 768×1536) and Gemini's 258 per image tile, so, like the rest of a
 * reservation, it errs high; the call is settled to the provider's real count afterwards. Counting
 * the base64 text instead (bytes / 4) would make an ~800 KB photo "270,000 tokens": refused by any
 * ordinary `tpm` for ever.
 */
export const IMAGE_TOKENS = 1600;

/**
 * Bodies up to this size are estimated at bytes / 4 without looking inside: they cannot hold an
 * image big enough to matter, and the estimate stays a division on the hot path.
 */
export const SCAN_ABOVE_BYTES = 64 * 1024;

/** Base64 payloads shorter than this are counted as text (they cost little either way). */
const MIN_PAYLOAD_CHARS = 1024;
const MAX_DEPTH = 64;

/**
 * The prompt-token estimate a limit check reserves before the call: request bytes / 4, except that
 * inline base64 images count `IMAGE_TOKENS` each instead of their text. Images are found as data
 * URLs (`data:image/png;base64,...`: OpenAI `image_url`, Responses `input_image`) and as base64
 * `data` beside an image media type (Anthropic `source: {type: "base64", media_type, data}`, Gemini
 * `inline_data: {mime_type, data}` / `inlineData: {mimeType, data}`). Other base64 (PDFs, audio)
 * stays counted as text: its token count grows with its length.
 *
 * @example estimatePromptTokens(body, 1_100_000) // one 800 KB JPEG: ~1,600 + its text, not 275,000
 */
export function estimatePromptTokens(body: unknown, bytes: number): number {
  if (bytes <= SCAN_ABOVE_BYTES || body === null || typeof body !== 'object') return Math.ceil(bytes / 4);
  const found = { images: 0, chars: 0 };
  scan(body, found, 0);
  return Math.ceil(Math.max(0, bytes - found.chars) / 4) + found.images * IMAGE_TOKENS;
}

function scan(v: unknown, found: { images: number; chars: number }, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (typeof v === 'string') {
    if (v.length >= MIN_PAYLOAD_CHARS && isImageDataUrl(v)) count(v.length, found);
    return;
  }
  if (Array.isArray(v)) {
    for (const item of v) scan(item, found, depth + 1);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  const data = o['data'];
  const mime = o['media_type'] ?? o['mime_type'] ?? o['mimeType'];
  const image = typeof data === 'string' && typeof mime === 'string' && mime.toLowerCase().startsWith('image/') && data.length >= MIN_PAYLOAD_CHARS;
  if (image) count(data.length, found);
  for (const [k, child] of Object.entries(o)) {
    if (!(image && k === 'data')) scan(child, found, depth + 1);
  }
}

function count(chars: number, found: { images: number; chars: number }): void {
  found.images++;
  found.chars += chars;
}

/** `data:image/<type>[;params];base64,` at the start (checked on the prefix only). */
function isImageDataUrl(s: string): boolean {
  if (!s.startsWith('data:')) return false;
  const comma = s.indexOf(',', 5);
  if (comma < 0 || comma > 256) return false;
  const head = s.slice(5, comma).toLowerCase();
  return head.startsWith('image/') && head.endsWith(';base64');
}
