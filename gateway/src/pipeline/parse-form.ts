import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { FORM_FIELDS, MAX_MODEL_CHARS, problem, refuseDotSegments } from './parse.ts';

/** The request paths of the form endpoints, for messages. */
const FORM_PATHS: Readonly<Record<string, string>> = {
  transcriptions: '/v1/audio/transcriptions',
  translations: '/v1/audio/translations',
};

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
  const path = FORM_PATHS[x.endpoint] ?? x.path;
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw GatewayError.invalid(
      `${path} takes a multipart/form-data body (a file and fields), not ${contentType === '' ? 'a body without a content-type' : contentType.split(';')[0]}.`,
      null,
      'invalid_request',
    );
  }
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
  for (const [name, value] of form) {
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

function add(into: Record<string, string | string[]>, name: string, value: string): void {
  const had = into[name];
  into[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
}

function filePlaceholder(f: File): string {
  return `[file: ${f.name || 'unnamed'}, ${f.type || 'no content-type'}, ${f.size} bytes]`;
}
