/**
 * OpenAI's media endpoints, as the real API answers them (shapes follow the `openai` SDK v6 types:
 * resources/moderations, resources/images, resources/audio/*):
 * - POST /v1/moderations: one result per input (a string, a list of strings, or one multimodal list);
 *   no usage; the answer names the snapshot that served it (`omni-moderation-latest` answers as
 *   `omni-moderation-2024-09-26`, as does a call without a model).
 * - POST /v1/images/generations: gpt-image-1 answers `b64_json` images and token `usage`, or with
 *   `stream: true` `image_generation.partial_image` events and `image_generation.completed` with
 *   usage; dall-e-2 (the default) and dall-e-3 answer `url` images (or `b64_json`) and no usage.
 * - POST /v1/audio/speech: binary audio (audio/mpeg for mp3, the default), chunked, no usage; with
 *   `stream_format: "sse"` (not tts-1/tts-1-hd) `speech.audio.delta` events and `speech.audio.done` with usage.
 * - POST /v1/audio/transcriptions, /translations: multipart/form-data in; `{text, usage}` (Whisper's
 *   usage is `{type: "duration", seconds}`, gpt-4o-transcribe's tokens), text/srt/vtt as text/plain,
 *   or with `stream=true` `transcript.text.delta` events and `transcript.text.done` with usage
 *   (whisper-1 ignores `stream` and answers whole).
 * Azure serves the same under /openai/deployments/{deployment}/... (server.ts routes it here).
 */
import { modelExists } from './answer.ts';
import { isRecord, nowSeconds, sendJson, sleep, textOf, type Ctx } from './http.ts';
import { openaiError, openaiGuard, requestHeaders, resolveModel, type Flavour } from './openai.ts';
import { countWords, splitText } from './scenario.ts';
import { dataFrame, eventFrame, SSE_HEADERS, streamFrames } from './sse.ts';

/** The word in a text that makes the fake moderation flag it (violence). */
export const FLAGGED_WORD = 'violence';

const CATEGORIES = ['harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent', 'self-harm', 'self-harm/instructions', 'self-harm/intent', 'sexual', 'sexual/minors', 'violence', 'violence/graphic'] as const;

function moderationResult(text: string, hasImage: boolean): Record<string, unknown> {
  const flagged = text.toLowerCase().includes(FLAGGED_WORD);
  const categories: Record<string, boolean> = {};
  const scores: Record<string, number> = {};
  const applied: Record<string, string[]> = {};
  for (const c of CATEGORIES) {
    const hit = flagged && c === 'violence';
    categories[c] = hit;
    scores[c] = hit ? 0.91 : 0.0001;
    applied[c] = hit ? (hasImage ? ['text', 'image'] : ['text']) : [];
  }
  return { flagged, categories, category_scores: scores, category_applied_input_types: applied };
}

/** POST /v1/moderations (https://platform.openai.com/docs/api-reference/moderations/create). */
export function moderations(ctx: Ctx, flavour: Flavour): void {
  if (openaiGuard(ctx, flavour)) return;
  const b = ctx.body ?? {};
  const input = b.input;
  const asked = b.model;
  if (asked !== undefined && typeof asked !== 'string') {
    openaiError(ctx, 400, "Invalid type for 'model': expected a string.", 'invalid_request_error', 'invalid_type', 'model');
    return;
  }
  if (typeof asked === 'string' && !modelExists(asked)) {
    openaiError(ctx, 404, `The model \`${asked}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    return;
  }
  let results: Record<string, unknown>[];
  if (typeof input === 'string') results = [moderationResult(input, false)];
  else if (Array.isArray(input) && input.every((i) => typeof i === 'string')) results = input.map((i) => moderationResult(i as string, false));
  else if (Array.isArray(input) && input.every(isRecord)) {
    results = [moderationResult(textOf(input), input.some((p) => p.type === 'image_url'))];
  } else {
    openaiError(ctx, 400, "'input' is a required property", 'invalid_request_error', null, 'input');
    return;
  }
  const model = asked === undefined || asked === 'omni-moderation-latest' ? 'omni-moderation-2024-09-26' : asked === 'text-moderation-latest' ? 'text-moderation-007' : asked;
  sendJson(ctx, 200, { id: `modr-${ctx.nextId()}`, model, results }, requestHeaders(ctx));
}

/** A tiny valid PNG-looking payload, distinct per prompt and index (the bytes are not an image). */
function fakeImage(prompt: string, index: number): string {
  return Buffer.from(`\x89PNG fake image ${index} for: ${prompt}`).toString('base64');
}

/** gpt-image-1's token usage: prompt words as text input, 1056 output tokens per image (1024x1024, medium). */
function imageUsage(ctx: Ctx, prompt: string, n: number): Record<string, unknown> {
  const text = ctx.scenario.usage?.promptTokens ?? countWords(prompt);
  const output = ctx.scenario.usage?.completionTokens ?? 1056 * n;
  return { total_tokens: text + output, input_tokens: text, output_tokens: output, input_tokens_details: { text_tokens: text, image_tokens: 0 } };
}

/** POST /v1/images/generations (https://platform.openai.com/docs/api-reference/images/create). */
export async function imagesGenerations(ctx: Ctx, flavour: Flavour): Promise<void> {
  if (openaiGuard(ctx, flavour)) return;
  const b = ctx.body ?? {};
  const prompt = b.prompt;
  if (typeof prompt !== 'string' || prompt === '') {
    openaiError(ctx, 400, "Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter', 'prompt');
    return;
  }
  const model = flavour.kind === 'azure' && flavour.deployment ? flavour.deployment : typeof b.model === 'string' ? b.model : 'dall-e-2';
  if (!modelExists(model)) {
    openaiError(ctx, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    return;
  }
  const n = typeof b.n === 'number' && b.n > 0 ? Math.floor(b.n) : 1;
  const gptImage = model.startsWith('gpt-image');
  const created = nowSeconds();
  if (b.stream === true) {
    if (!gptImage) {
      openaiError(ctx, 400, `Streaming is not supported for model '${model}'.`, 'invalid_request_error', 'unsupported_value', 'stream');
      return;
    }
    const partials = typeof b.partial_images === 'number' ? Math.max(0, Math.floor(b.partial_images)) : 0;
    const common = { created_at: created, size: '1024x1024', quality: 'medium', background: 'opaque', output_format: 'png' };
    const frames = [];
    for (let i = 0; i < partials; i++) {
      frames.push(eventFrame('image_generation.partial_image', { type: 'image_generation.partial_image', b64_json: fakeImage(prompt, i), ...common, partial_image_index: i }, true));
    }
    frames.push(eventFrame('image_generation.completed', { type: 'image_generation.completed', b64_json: fakeImage(prompt, 0), ...common, usage: imageUsage(ctx, prompt, 1) }, true));
    await streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, frames);
    return;
  }
  const b64 = gptImage || b.response_format === 'b64_json';
  const data = Array.from({ length: n }, (_, i) =>
    b64 ? { b64_json: fakeImage(prompt, i), ...(model === 'dall-e-3' ? { revised_prompt: prompt } : {}) } : { url: `https://fake-images.example/${ctx.nextId()}.png`, ...(model === 'dall-e-3' ? { revised_prompt: prompt } : {}) },
  );
  const body: Record<string, unknown> = { created, data };
  if (gptImage) {
    Object.assign(body, { background: 'opaque', output_format: 'png', quality: 'medium', size: '1024x1024' });
    if (!ctx.scenario.omitUsage) body.usage = imageUsage(ctx, prompt, n);
  }
  sendJson(ctx, 200, body, requestHeaders(ctx));
}

const AUDIO_TYPES: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm',
};

/** The audio the fake speaks for `input`: deterministic bytes, every byte value present (a binary body). */
export function fakeSpeech(input: string, voice: string): Buffer {
  const head = Buffer.from(`ID3fake:${voice}:${input}:`);
  const tail = Buffer.alloc(4096);
  for (let i = 0; i < tail.length; i++) tail[i] = (i * 7 + input.length) & 0xff;
  return Buffer.concat([head, tail]);
}

/** POST /v1/audio/speech (https://platform.openai.com/docs/api-reference/audio/createSpeech): binary audio, chunked. */
export async function speech(ctx: Ctx, flavour: Flavour): Promise<void> {
  if (openaiGuard(ctx, flavour)) return;
  const b = ctx.body ?? {};
  if (typeof b.input !== 'string') {
    openaiError(ctx, 400, "Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input');
    return;
  }
  if (typeof b.voice !== 'string') {
    openaiError(ctx, 400, "Missing required parameter: 'voice'.", 'invalid_request_error', 'missing_required_parameter', 'voice');
    return;
  }
  const model = resolveModel(ctx, flavour);
  if (model === undefined) return;
  const format = typeof b.response_format === 'string' ? b.response_format : 'mp3';
  const type = AUDIO_TYPES[format];
  if (type === undefined) {
    openaiError(ctx, 400, `Invalid value for 'response_format': '${format}'.`, 'invalid_request_error', 'invalid_value', 'response_format');
    return;
  }
  const audio = fakeSpeech(b.input, b.voice);
  if (b.stream_format === 'sse') {
    // "sse is not supported for tts-1 or tts-1-hd" (API reference, createSpeech `stream_format`)
    if (model.startsWith('tts-1')) {
      openaiError(ctx, 400, `stream_format 'sse' is not supported for model '${model}'.`, 'invalid_request_error', 'unsupported_value', 'stream_format');
      return;
    }
    // speech.audio.delta events with base64 audio, then speech.audio.done with the call's token usage
    const pieces = ctx.scenario.chunks ?? 4;
    const size = Math.ceil(audio.length / pieces);
    const frames = Array.from({ length: pieces }, (_, i) => dataFrame({ type: 'speech.audio.delta', audio: audio.subarray(i * size, (i + 1) * size).toString('base64') }, true));
    const input = countWords(b.input);
    const output = Math.ceil(audio.length / 64);
    frames.push(dataFrame({ type: 'speech.audio.done', usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } }));
    await streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, frames);
    return;
  }
  ctx.call.status = 200;
  // chunked, as OpenAI streams audio (no content-length)
  ctx.res.writeHead(200, { 'content-type': type, 'transfer-encoding': 'chunked', ...requestHeaders(ctx) });
  const pieces = ctx.scenario.chunks ?? 4;
  const size = Math.ceil(audio.length / pieces);
  for (let i = 0; i < pieces; i++) {
    if (i > 0) await sleep(ctx, ctx.scenario.chunkDelayMs);
    if (ctx.closed) return;
    if (ctx.scenario.dropAfterChunks !== undefined && i === ctx.scenario.dropAfterChunks) {
      ctx.call.dropped = true;
      ctx.res.destroy();
      return;
    }
    ctx.res.write(audio.subarray(i * size, (i + 1) * size));
  }
  ctx.res.end();
}

/** The transcript the fake hears in a file: the scenario's text, else a sentence naming the file. */
function transcriptOf(ctx: Ctx, file: File): string {
  return ctx.scenario.text ?? `Transcript of ${file.name} (${file.size} bytes).`;
}

function transcriptUsage(ctx: Ctx, model: string, text: string, prompt: string, bytes: number): Record<string, unknown> {
  if (model.startsWith('whisper')) return { type: 'duration', seconds: Math.max(1, Math.round(bytes / 32000)) };
  const audio = Math.max(1, Math.round(bytes / 100));
  const textIn = countWords(prompt);
  const input = ctx.scenario.usage?.promptTokens ?? audio + textIn;
  const output = ctx.scenario.usage?.completionTokens ?? countWords(text);
  return { type: 'tokens', input_tokens: input, input_token_details: { text_tokens: textIn, audio_tokens: input - textIn }, output_tokens: output, total_tokens: input + output };
}

function srt(text: string, vtt: boolean): string {
  const time = vtt ? '00:00:00.000 --> 00:00:02.000' : '00:00:00,000 --> 00:00:02,000';
  return vtt ? `WEBVTT\n\n${time}\n${text}\n\n` : `1\n${time}\n${text}\n\n`;
}

/**
 * POST /v1/audio/transcriptions and /v1/audio/translations
 * (https://platform.openai.com/docs/api-reference/audio/createTranscription): a multipart form.
 */
export async function audioText(ctx: Ctx, flavour: Flavour, task: 'transcribe' | 'translate'): Promise<void> {
  // not a JSON body: the guard checks the key and the scenario only
  if (openaiGuard(ctx, flavour, true)) return;
  const type = ctx.call.headers['content-type'] ?? '';
  let form: FormData;
  try {
    if (!type.startsWith('multipart/form-data')) throw new Error('not multipart');
    form = await new Response(new Uint8Array(ctx.call.rawBytes), { headers: { 'content-type': type } }).formData();
  } catch {
    openaiError(ctx, 400, "Could not parse multipart form", 'invalid_request_error', null);
    return;
  }
  const file = form.get('file');
  if (!(file instanceof File)) {
    openaiError(ctx, 400, "Missing required parameter: 'file'.", 'invalid_request_error', 'missing_required_parameter', 'file');
    return;
  }
  const field = (name: string): string | undefined => {
    const v = form.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const model = flavour.kind === 'azure' && flavour.deployment ? flavour.deployment : field('model');
  if (model === undefined || model === '') {
    openaiError(ctx, 400, 'you must provide a model parameter', 'invalid_request_error', null);
    return;
  }
  if (!modelExists(model)) {
    openaiError(ctx, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    return;
  }
  const text = transcriptOf(ctx, file);
  const prompt = field('prompt') ?? '';
  const usage = transcriptUsage(ctx, model, text, prompt, file.size);
  const format = field('response_format') ?? 'json';
  // "Streaming is not supported for the whisper-1 model and will be ignored" (openai SDK v6,
  // resources/audio/transcriptions): whisper-1 answers whole; translations take no `stream`.
  if (field('stream') === 'true' && task === 'transcribe' && !model.startsWith('whisper')) {
    const frames = splitText(text, ctx.scenario.chunks).map((delta) => dataFrame({ type: 'transcript.text.delta', delta, logprobs: null }, true));
    frames.push(dataFrame({ type: 'transcript.text.done', text, logprobs: null, usage }));
    await streamFrames(ctx, { ...SSE_HEADERS, ...requestHeaders(ctx) }, frames);
    return;
  }
  const headers = requestHeaders(ctx);
  switch (format) {
    case 'text':
    case 'srt':
    case 'vtt': {
      const out = format === 'text' ? `${text}\n` : srt(text, format === 'vtt');
      ctx.call.status = 200;
      ctx.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(out)), ...headers });
      ctx.res.end(out);
      return;
    }
    case 'verbose_json':
      sendJson(ctx, 200, { task, language: 'english', duration: 2, text, segments: [], usage }, headers);
      return;
    case 'json': {
      const body: Record<string, unknown> = { text };
      if (!ctx.scenario.omitUsage && task === 'transcribe') body.usage = usage;
      sendJson(ctx, 200, body, headers);
      return;
    }
    default:
      openaiError(ctx, 400, `Invalid value for 'response_format': '${format}'.`, 'invalid_request_error', 'invalid_value', 'response_format');
  }
}
