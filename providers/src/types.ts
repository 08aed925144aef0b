/**
 * Wire-level contracts shared by every provider. Everything in this package is pure: no I/O,
 * no clock (callers pass `created` timestamps in), no globals.
 */

/** The client-facing API surfaces the gateway speaks. */
export type Surface = 'openai' | 'anthropic';

/**
 * Endpoints the gateway serves. `messages` and `count_tokens` (`/v1/messages/count_tokens`) are the
 * Anthropic surface's; `models` exists on both surfaces. The media endpoints (MEDIA_ENDPOINTS) are
 * OpenAI's: `moderations` (/v1/moderations), `images` (/v1/images/generations), `speech`
 * (/v1/audio/speech), `transcriptions` and `translations` (/v1/audio/transcriptions, /v1/audio/translations).
 */
export type Endpoint =
  | 'chat'
  | 'completions'
  | 'embeddings'
  | 'responses'
  | 'models'
  | 'messages'
  | 'count_tokens'
  | MediaEndpoint;

/** OpenAI's endpoints that answer something else than generated text (or text about media). */
export type MediaEndpoint = 'moderations' | 'images' | 'speech' | 'transcriptions' | 'translations';

export const MEDIA_ENDPOINTS: ReadonlySet<Endpoint> = new Set<MediaEndpoint>(['moderations', 'images', 'speech', 'transcriptions', 'translations']);

/**
 * The endpoints whose requests are multipart/form-data (an audio file and fields), forwarded byte
 * for byte: https://platform.openai.com/docs/api-reference/audio/createTranscription
 */
export const FORM_ENDPOINTS: ReadonlySet<Endpoint> = new Set<MediaEndpoint>(['transcriptions', 'translations']);

/** The wire format a provider natively speaks. */
export type WireFormat = 'openai' | 'anthropic' | 'gemini';

export type ProviderKind = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'openai-compatible';

/**
 * Token usage, normalised. Follows OpenAI's accounting:
 * `promptTokens` includes cached and cache-write input tokens; `completionTokens` includes
 * reasoning tokens. The sub-counts let cost be priced per class.
 */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** input tokens read from the provider's prompt cache (priced at the cached-input rate) */
  cachedTokens: number;
  /** input tokens written to the provider's prompt cache (Anthropic's cache_creation_input_tokens) */
  cacheWriteTokens: number;
  /**
   * Of cacheWriteTokens, those written to Anthropic's 1-hour cache (`cache_creation.ephemeral_1h_input_tokens`):
   * they cost 2x input where 5-minute writes cost 1.25x. Absent when there are none, or when the
   * provider does not tell write durations apart; every write then prices as a 5-minute one.
   */
  cacheWrite1hTokens?: number;
  /** reasoning tokens, already included in completionTokens */
  reasoningTokens: number;
  /**
   * Of promptTokens, the image input tokens of an image model (gpt-image-1's
   * `input_tokens_details.image_tokens`: images given to edit), priced at `imageInput`. Absent when none.
   */
  imageInputTokens?: number;
  /**
   * Of promptTokens, the audio input tokens of a transcription model (gpt-4o-transcribe's
   * `input_token_details.audio_tokens`), priced at `audioInput`. Absent when none.
   */
  audioInputTokens?: number;
}

/** Where a provider lives and how to authenticate; only ever from config/env, never a request. */
export interface ProviderTarget {
  /** In the same form as the provider SDK's `baseURL` (e.g. https://api.openai.com/v1). */
  baseUrl: string;
  /** Azure: `api-version` query value. Anthropic: `anthropic-version` header default. */
  apiVersion?: string;
  /** Azure: model name -> deployment name. Missing entries use the model name as deployment. */
  deployments?: Readonly<Record<string, string>>;
  /** Extra static headers to send (e.g. OpenRouter's HTTP-Referer). */
  headers?: Readonly<Record<string, string>>;
}

export interface ProviderRequest {
  endpoint: Endpoint;
  /** The client's parsed JSON body, in the client surface's format (OpenAI, or Anthropic for `messages`). */
  body: Record<string, unknown>;
  /**
   * The model name to send upstream (any `provider/` prefix already stripped). For `models`: '' for
   * the list (GET /v1/models), else the one model to retrieve (GET /v1/models/{model}).
   */
  model: string;
  stream: boolean;
  /** The provider credential to use, or undefined when the provider needs none (e.g. Ollama). */
  apiKey: string | undefined;
  /**
   * Headers from the client that the provider understands and that should be forwarded
   * (e.g. `anthropic-version`, `anthropic-beta`, `openai-organization`). Lower-case names.
   */
  passHeaders: Readonly<Record<string, string>>;
  /**
   * The client's body text, when the gateway did not change the body. Pass-through providers send it
   * as is instead of re-serialising `body` (cheaper, and byte-faithful).
   */
  raw?: string | undefined;
  /**
   * The client's query string, without `?` (GET endpoints such as `models` and the stored-response
   * routes: pagination, `include`).
   */
  query?: string | undefined;
  /**
   * `responses` only: a call on a response the provider stored (the Responses API's
   * `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`, `POST /v1/responses/{id}/cancel`,
   * `GET /v1/responses/{id}/input_items`) rather than a new one. It has no body and no model.
   */
  stored?: StoredResponse | undefined;
  /**
   * A multipart/form-data request (`transcriptions`, `translations`): the client's bytes and its
   * content-type (with its boundary), sent as they came. `body` then holds the form's text fields.
   */
  form?: { bytes: Uint8Array; contentType: string } | undefined;
}

/** What a stored-response call does: retrieve, delete, cancel (background) or list its input items. */
export type StoredResponseAction = 'retrieve' | 'delete' | 'cancel' | 'input_items';

export interface StoredResponse {
  /** The response id as the client named it (`resp_...`), percent-decoded. */
  id: string;
  action: StoredResponseAction;
}

/** The HTTP request to send upstream. The gateway adds nothing but hop-by-hop handling. */
export interface UpstreamRequest {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  /** Serialised body; undefined for GET, DELETE and a stored response's cancel. */
  body?: string;
  /** A multipart form's bytes, as the client sent them (in place of `body`). */
  bytes?: Uint8Array;
  /**
   * The translation left out the extended thinking the client asked for, because the provider would
   * refuse the request with it (Anthropic: a tool-use continuation whose assistant turn came back
   * without its thinking blocks). The gateway tells the client in `x-watchllm-thinking: dropped`.
   */
  thinkingDropped?: boolean;
}

/** A parsed server-sent event, as eventsource-parser yields it. */
export interface SseEvent {
  event?: string | undefined;
  data: string;
  id?: string | undefined;
}

/** Values a translation needs that must not come from a clock or random source inside the package. */
export interface TranslateContext {
  /** The model name as the client asked for it (echoed back in translated responses). */
  model: string;
  /** An id to use for translated responses (e.g. `chatcmpl-<requestId>`). */
  id: string;
  /** Unix seconds. */
  created: number;
  /** Whether the client asked for usage in the stream (OpenAI `stream_options.include_usage`). */
  includeUsage: boolean;
  /** Embeddings: the client's `encoding_format` (the openai SDK asks for base64 by default). */
  encodingFormat?: 'float' | 'base64';
}

/**
 * Turns a provider's stream events into the client surface's stream events.
 * `push` may return zero or more events; `finish` is called once when the upstream ends
 * and returns any closing events (for OpenAI: never the `[DONE]` sentinel; the gateway writes it).
 */
export interface StreamTranslator {
  push(event: SseEvent): SseOut[];
  finish(): SseOut[];
}

/** An outgoing SSE event: `data` is an object serialised as JSON by the gateway. */
export interface SseOut {
  event?: string;
  data: unknown;
}

/** Error details in a neutral form; the gateway renders them in the client surface's shape. */
export interface ProviderErrorInfo {
  message: string;
  /** OpenAI-style type, e.g. invalid_request_error, authentication_error, rate_limit_error, api_error */
  type: string;
  code: string | null;
  param?: string | null;
  /**
   * The HTTP status a client of another surface should see, when it is not the provider's (Gemini
   * answers a bad key with 400; OpenAI and Anthropic clients expect 401).
   */
  status?: number;
}

/**
 * A provider: how to reach it and how to translate to/from the OpenAI wire format.
 * Providers whose `wire` equals the client surface are passed through byte for byte
 * (except body rewrites such as the model name and stream_options).
 */
export interface Provider {
  readonly id: string;
  readonly kind: ProviderKind;
  readonly wire: WireFormat;
  /** Endpoints this provider can serve from the OpenAI surface (messages: from the Anthropic surface). */
  readonly endpoints: ReadonlySet<Endpoint>;
  /** Build the upstream request. Throws TranslationError for input it cannot map. */
  buildRequest(req: ProviderRequest, target: ProviderTarget): UpstreamRequest;
  /** Non-streamed provider body -> OpenAI body. Only called when wire !== client surface. */
  toOpenaiResponse?(endpoint: Endpoint, body: unknown, ctx: TranslateContext): unknown;
  /** Stream translator to OpenAI chunks. Only used when wire !== client surface. */
  createStreamTranslator?(endpoint: Endpoint, ctx: TranslateContext): StreamTranslator;
  /** Upstream error body (already parsed as JSON when possible, else the text) -> neutral error. */
  toError(status: number, body: unknown): ProviderErrorInfo;
}

/**
 * Input the gateway cannot translate faithfully. Becomes a 400 naming `param`,
 * never a silent drop (see STYLE.md).
 */
export class TranslationError extends Error {
  override readonly name = 'TranslationError';
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}
