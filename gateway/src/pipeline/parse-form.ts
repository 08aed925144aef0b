import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { FORM_FIELDS, MAX_MODEL_CHARS, pathOf, problem, refuseDotSegments } from './parse.ts';

/** Parts a form may have: OpenAI's take a file and about a dozen fields (timestamp_granularities[] twice). */
export const MAX_FORM_PARTS = 100;

/**
 * The parse stage of a multipart/form-data request (audio transcriptions and translations:
 * https://platform.openai.com/docs/api-reference/audio/createTranscription). The gateway needs the
 * form's `model` (routing, key scope, policies, limits) and `stream`; the provider gets the bytes
 * as they came (`x.request.form`), so the boundary and the file are exactly the client's.
 *
 * The form is parsed by the platform's own multipart parser (undici's `Response.formData()`, the
 * fetch standard's algorithm), over a body readBody already bounded by WATCHLLM_MAX_BODY_MB.
 * `x.request.body` gets the text fields (a name sent more than once, `timestamp_granularities[]`,
 * as a list); `x.request.raw`, what the event stores, gets them as JSON with a placeholder for each
 * file (`[file: a.wav, audio/wav, 48000 bytes]`): the audio is never stored.
 */
export async function parseForm(x: Exchange, raw: Buffer, contentType: string): Promise<void> {
  x.request.bytes = raw.length;
  const path = pathOf(x.path);
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw GatewayError.invalid(
      `${path} takes a multipart/form-data body (a file and fields), not ${contentType === '' ? 'a body without a content-type' : contentType.split(';')[0]}.`,
      null,
      'invalid_request',
    );
  }
  // Counted before the parser runs: a body of a million tiny parts would cost it seconds of CPU.
  const delimiter = boundaryOf(contentType);
  if (delimiter !== null && occurrences(raw, delimiter, MAX_FORM_PARTS + 2) > MAX_FORM_PARTS + 1) throw tooManyParts(path);
  let form: FormData;
  try {
    // a view of the same bytes (no copy); a Node Buffer's memory is an ArrayBuffer, never a shared one
    const view = new Uint8Array(raw.buffer as ArrayBuffer, raw.byteOffset, raw.length);
    form = await new Response(view, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw GatewayError.invalid('We could not parse the multipart/form-data body of your request.', null, 'invalid_request');
  }
  const fields: Record<string, string | string[]> = {};
  const stored: Record<string, string | string[]> = {};
  let parts = 0;
  for (const [name, value] of form) {
    // OpenAI's forms have a file and a dozen fields: a body of tiny parts is no transcription
    if (++parts > MAX_FORM_PARTS) throw tooManyParts(path);
    if (typeof value === 'string') add(fields, name, value);
    add(stored, name, typeof value === 'string' ? value : filePlaceholder(value));
  }
  x.request.form = { bytes: raw, contentType };
  x.request.raw = JSON.stringify(stored);
  const result = FORM_FIELDS.safeParse(fields);
  if (!result.success) {
    const model = fields['model'];
    if (typeof model === 'string') x.request.model = model.slice(0, MAX_MODEL_CHARS);
    const p = problem(result.error.issues[0]!, fields, x.surface);
    throw GatewayError.invalid(p.message, p.param, p.code);
  }
  x.request.body = fields;
  x.request.model = result.data.model;
  refuseDotSegments(x.request.model);
  // the SDKs send `stream` as the text `true` (gpt-4o-transcribe streams transcript.text.* events)
  x.request.stream = fields['stream'] === 'true';
}

function tooManyParts(path: string): GatewayError {
  return GatewayError.invalid(`A ${path} form has at most ${MAX_FORM_PARTS} parts (a file and its fields).`, null, 'invalid_request');
}

/** `--<boundary>`, the delimiter before each part (RFC 2046 §5.1.1), from the content-type; null without one. */
function boundaryOf(contentType: string): Buffer | null {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  return b ? Buffer.from(`--${b}`, 'latin1') : null;
}

/** How many times `needle` occurs in `hay`, counting no further than `stop`. */
function occurrences(hay: Buffer, needle: Buffer, stop: number): number {
  let n = 0;
  for (let at = hay.indexOf(needle); at !== -1 && n < stop; at = hay.indexOf(needle, at + needle.length)) n++;
  return n;
}

/** A name sent again becomes a list, appended in place (a copy per part would be quadratic). */
function add(into: Record<string, string | string[]>, name: string, value: string): void {
  const had = into[name];
  if (had === undefined) into[name] = value;
  else if (Array.isArray(had)) had.push(value);
  else into[name] = [had, value];
}

function filePlaceholder(f: File): string {
  return `[file: ${f.name || 'unnamed'}, ${f.type || 'no content-type'}, ${f.size} bytes]`;
}
