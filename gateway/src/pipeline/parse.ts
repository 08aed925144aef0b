import type { Endpoint, StoredResponse, StoredResponseAction, Surface } from '@watchllm/providers';
import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { MAX_BODY_DEPTH, nestsDeeperText } from '../json.ts';

/**
 * Validates only what the gateway relies on; every other field passes through untouched so new provider
 * parameters work on day one. (Providers validate the rest and their errors reach the client as they are.)
 * The messages of what fails are worded per surface by `problem` below.
 */
/**
 * Model names are short (the longest real ones, fine-tune ids and Bedrock ARNs, stay well under
 * 200 characters); a longer one is refused, not routed: model globs (routing, limits, policies) are
 * regexes with `.*`, which a crafted name of many kilobytes would make slow.
 */
export const MAX_MODEL_CHARS = 256;

const modelName = z.string().min(1, 'model must not be empty').max(MAX_MODEL_CHARS, `model must be at most ${MAX_MODEL_CHARS} characters`);

const base = z.looseObject({
  model: modelName,
  // null is "not set" to OpenAI and its SDKs (`stream?: boolean | null`; wrappers pass stream=None)
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

/** A field of any type that must be present (an absent one reads as missing in `problem`). */
const present = z.unknown().refine((v) => v !== undefined);

/**
 * Endpoints where `model` may be left out, as OpenAI's API allows: the provider's default answers
 * (moderations: omni-moderation-latest; images: dall-e-2). Such a call routes like one naming no
 * model (x-watchllm-provider, else the default provider).
 */
const modelOptional = base.extend({ model: modelName.nullish() });

/**
 * A multipart form's text fields (transcriptions, translations; parse-form.ts): every value is text
 * (`stream` is `"true"`), so only the model is checked here.
 */
export const FORM_FIELDS = z.looseObject({ model: modelName });

const SCHEMAS: Readonly<Record<Exclude<Endpoint, 'models'>, z.ZodType<Record<string, unknown>>>> = {
  chat: base.extend({ messages: z.array(z.unknown()).min(1, 'messages must not be empty') }),
  completions: base.extend({ prompt: present }),
  embeddings: base.extend({ input: present }),
  responses: base.extend({ input: z.unknown().optional() }),
  count_tokens: base.extend({ messages: z.array(z.unknown()) }),
  messages: base.extend({ messages: z.array(z.unknown()), max_tokens: z.int().min(1) }),
  // https://platform.openai.com/docs/api-reference/moderations/create, images/create, audio/createSpeech
  moderations: modelOptional.extend({ input: present }),
  images: modelOptional.extend({ prompt: z.string() }),
  speech: base.extend({ input: z.string() }),
  transcriptions: FORM_FIELDS,
  translations: FORM_FIELDS,
};

/** The path prefix of GET /v1/models/{model} (routes/proxy.ts routes it here). */
export const ONE_MODEL = '/v1/models/';

/**
 * GET /v1/models/{model}: the model the path names (percent-decoded; slashes are part of it, as in
 * `meta-llama/Llama-3-8B`), as `x.request.model`, which routes the call like a body's `model`.
 * The list (`/v1/models`, or `/v1/models/`) keeps no model.
 */
export function parseModelPath(x: Exchange): void {
  const q = x.path.indexOf('?');
  const path = q === -1 ? x.path : x.path.slice(0, q);
  if (!path.startsWith(ONE_MODEL) || path.length === ONE_MODEL.length) return;
  const raw = path.slice(ONE_MODEL.length);
  let model: string;
  try {
    model = decodeURIComponent(raw);
  } catch {
    throw GatewayError.invalid(`The model in the URL is not valid percent-encoding: '${raw}'.`, 'model', 'invalid_request');
  }
  refuseDotSegments(model);
  if (model.length > MAX_MODEL_CHARS) {
    x.request.model = model.slice(0, MAX_MODEL_CHARS);
    throw GatewayError.invalid(`model must be at most ${MAX_MODEL_CHARS} characters`, 'model', 'invalid_request');
  }
  x.request.model = model;
}

/**
 * A model name with a `.` or `..` segment (`gemini/gemini-2.5-flash/../models/gemini-2.5-pro`, an
 * Azure deployment `..`) is refused: providers put the model in the URL path, where URL parsing
 * resolves such segments, so the call would reach another model or endpoint than the one its key
 * scope, price and budget were checked against.
 */
export function refuseDotSegments(model: string): void {
  if (model.split('/').some((s) => s === '.' || s === '..')) {
    throw GatewayError.invalid(`'${model}' is not a model: a model name has no '.' or '..' segment.`, 'model', 'invalid_request');
  }
}

/** The path prefix of the Responses API's stored-response routes (routes/proxy.ts routes them here). */
export const ONE_RESPONSE = '/v1/responses/';

/** Response ids are short (`resp_` and 50 hex digits at OpenAI); a longer one is refused, not sent. */
export const MAX_RESPONSE_ID_CHARS = 256;

/**
 * Which stored-response call `METHOD path` (no query) is, the id as it stands in the path (still
 * percent-encoded), or null when it is none: `GET`/`DELETE /v1/responses/{id}`,
 * `POST /v1/responses/{id}/cancel`, `GET /v1/responses/{id}/input_items`. An id never holds a
 * slash here (the SDKs encode one); other paths under /v1/responses/ are not proxied.
 */
export function storedResponseRoute(method: string | undefined, path: string): { rawId: string; action: StoredResponseAction } | null {
  if (!path.startsWith(ONE_RESPONSE)) return null;
  const rest = path.slice(ONE_RESPONSE.length);
  const slash = rest.indexOf('/');
  const rawId = slash === -1 ? rest : rest.slice(0, slash);
  if (rawId === '') return null;
  if (slash === -1) return method === 'GET' ? { rawId, action: 'retrieve' } : method === 'DELETE' ? { rawId, action: 'delete' } : null;
  const tail = rest.slice(slash + 1);
  if (tail === 'cancel' && method === 'POST') return { rawId, action: 'cancel' };
  if (tail === 'input_items' && method === 'GET') return { rawId, action: 'input_items' };
  return null;
}

/** A request URL without its query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Whether this call is on a stored response rather than a new one (`POST /v1/responses`). Never
 * throws: the stages that end a call (finish.ts) ask it of calls whose id did not parse too.
 */
export function isStoredResponse(x: Exchange): boolean {
  return x.endpoint === 'responses' && storedResponseRoute(x.method, pathOf(x.path)) !== null;
}

/**
 * The stored response this call is on (its id percent-decoded), or null for any other call. Throws
 * the 400 of an id that cannot be one; parseStoredResponse asks first, so the stages after it
 * (route, forward, respond) get the answer it got.
 */
export function storedResponseOf(x: Exchange): StoredResponse | null {
  if (x.endpoint !== 'responses') return null;
  const r = storedResponseRoute(x.method, pathOf(x.path));
  if (r === null) return null;
  let id: string;
  try {
    id = decodeURIComponent(r.rawId);
  } catch {
    throw GatewayError.invalid(`The response id in the URL is not valid percent-encoding: '${r.rawId.slice(0, MAX_RESPONSE_ID_CHARS)}'.`, 'response_id', 'invalid_request');
  }
  // `..` would be a path segment upstream (URL parsing resolves it), not an id.
  if (id === '.' || id === '..') throw GatewayError.invalid(`'${id}' is not a response id.`, 'response_id', 'invalid_request');
  if (id.length > MAX_RESPONSE_ID_CHARS) {
    throw GatewayError.invalid(`The response id must be at most ${MAX_RESPONSE_ID_CHARS} characters.`, 'response_id', 'invalid_request');
  }
  return { id, action: r.action };
}

/**
 * The parse stage of a stored-response call (it has no body: GET, DELETE, and a cancel the SDKs send
 * empty): the id, checked. Resuming a background response's stream (`GET ...?stream=true`) is
 * refused for now: the stream responder would read its events as a new answer's (usage, policies).
 */
export function parseStoredResponse(x: Exchange): StoredResponse | null {
  const stored = storedResponseOf(x);
  if (stored?.action !== 'retrieve') return stored;
  const q = x.path.indexOf('?');
  const stream = q === -1 ? null : new URLSearchParams(x.path.slice(q + 1)).get('stream');
  if (stream !== null && stream !== 'false') {
    throw GatewayError.invalid(
      "Streaming a stored response (GET /v1/responses/{id}?stream=true, resuming a background response's stream) is not supported by the gateway yet; retrieve it without stream.",
      'stream',
      'unsupported_parameter',
    );
  }
  return stored;
}

/** Parses and validates the body, filling in `x.request`. */
export function parseRequest(x: Exchange, raw: Buffer): void {
  x.request.bytes = raw.length;
  const text = raw.toString('utf8');
  x.request.raw = text;
  if (x.endpoint === 'models') return;
  if (nestsDeeperText(text, MAX_BODY_DEPTH)) {
    throw GatewayError.invalid(`The request body nests more than ${MAX_BODY_DEPTH} levels deep.`, null, 'invalid_request');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // Where, never what: the parser's message quotes the body, which may hold a secret (and the
    // error message is stored with the call even when its policies drop bodies).
    const at = e instanceof SyntaxError ? /at position (\d+)/.exec(e.message)?.[1] : undefined;
    const detail = at === undefined ? '' : ` (at position ${at})`;
    throw GatewayError.invalid(
      `We could not parse the JSON body of your request${detail}. Send a valid JSON object with Content-Type: application/json.`,
      null,
      'invalid_json',
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw GatewayError.invalid('The request body must be a JSON object.', null, 'invalid_json');
  }
  const result = SCHEMAS[x.endpoint].safeParse(json);
  if (!result.success) {
    if (typeof (json as { model?: unknown }).model === 'string') x.request.model = (json as { model: string }).model.slice(0, MAX_MODEL_CHARS);
    const p = problem(result.error.issues[0]!, json as Record<string, unknown>, x.surface);
    throw GatewayError.invalid(p.message, p.param, p.code);
  }
  const body = result.data;
  x.request.body = body;
  const model = body['model'];
  x.request.model = typeof model === 'string' ? model : null;
  if (x.request.model !== null) refuseDotSegments(x.request.model);
  x.request.stream = body['stream'] === true;
  const so = body['stream_options'] as { include_usage?: boolean } | null | undefined;
  x.request.clientWantsUsage = so?.include_usage === true;
}

interface Problem {
  message: string;
  param: string | null;
  code: string;
}

/**
 * What is wrong with a field, worded as the surface's own API words it, so a client reads the same
 * message through the gateway as without it: OpenAI's "Invalid type for 'model': expected a string,
 * but got an integer instead." (code `invalid_type`), Anthropic's pydantic-style "max_tokens: Input
 * should be a valid integer". `missing_model` stays for a model that is absent (or empty).
 */
export function problem(issue: z.core.$ZodIssue, json: Record<string, unknown>, surface: Surface): Problem {
  const param = issue.path.join('.') || null;
  const value = valueAt(json, issue.path);
  const name = param ?? 'body';
  const noModel = param === 'model' && (value === undefined || value === '');
  const code = noModel ? 'missing_model' : issue.code === 'invalid_type' && value !== undefined ? 'invalid_type' : 'invalid_request';
  return { message: surface === 'anthropic' ? anthropicMessage(issue, name, value) : openaiMessage(issue, name, value), param, code };
}

function openaiMessage(issue: z.core.$ZodIssue, name: string, value: unknown): string {
  if (value === undefined) return name === 'model' ? 'you must provide a model parameter' : `Missing required parameter: '${name}'.`;
  if (issue.code === 'invalid_type') {
    return `Invalid type for '${name}': expected ${OPENAI_TYPES[issue.expected] ?? issue.expected}, but got ${openaiKind(value)} instead.`;
  }
  return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
}

function anthropicMessage(issue: z.core.$ZodIssue, name: string, value: unknown): string {
  if (value === undefined) return `${name}: Field required`;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int' && typeof value === 'number') return `${name}: Input should be a valid integer, got a number with a fractional part`;
      return `${name}: Input should be a valid ${ANTHROPIC_TYPES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'number' || issue.origin === 'int') {
        return `${name}: Input should be greater than ${issue.inclusive ? 'or equal to ' : ''}${String(issue.minimum)}`;
      }
      break;
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int') {
        return `${name}: Input should be less than ${issue.inclusive ? 'or equal to ' : ''}${String(issue.maximum)}`;
      }
      break;
  }
  return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
}

/**
 * How OpenAI names the expected type ("expected a string"). The only numbers checked here are
 * integers (max_tokens), and zod reports a string given to z.int() as expected `number`.
 */
const OPENAI_TYPES: Readonly<Record<string, string>> = {
  string: 'a string',
  array: 'an array',
  boolean: 'a boolean',
  object: 'an object',
  number: 'an integer',
  int: 'an integer',
};

/** How Anthropic (pydantic) names it ("Input should be a valid list"). */
const ANTHROPIC_TYPES: Readonly<Record<string, string>> = {
  string: 'string',
  array: 'list',
  boolean: 'boolean',
  object: 'dictionary',
  number: 'integer',
  int: 'integer',
};

/** How OpenAI names what it got instead ("but got an integer instead"). */
function openaiKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return 'an object';
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let v = json;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
