import {
  TranslationError,
  type Endpoint,
  type Provider,
  type ProviderErrorInfo,
  type ProviderKind,
  type ProviderRequest,
  type ProviderTarget,
  type StoredResponse,
  type UpstreamRequest,
} from '../types.ts';

/** Paths relative to an OpenAI-style base URL (which, like the SDK's baseURL, already ends in /v1). */
const OPENAI_PATHS: Readonly<Record<Exclude<Endpoint, 'messages' | 'count_tokens'>, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
  models: '/models',
  moderations: '/moderations',
  images: '/images/generations',
  speech: '/audio/speech',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
};

/** Client headers OpenAI-style hosts understand (https://platform.openai.com/docs/api-reference/authentication). */
const PASS_HEADERS = ['openai-organization', 'openai-project', 'openai-beta'] as const;

export function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/**
 * What a models URL adds for one model (GET /v1/models/{model}): nothing for the list (model ''),
 * else `/` and the id encoded as the SDKs encode it (`meta-llama/Llama-3-8B` -> `meta-llama%2FLlama-3-8B`).
 */
export function oneModelPath(model: string): string {
  return model === '' ? '' : `/${encodeURIComponent(model)}`;
}

/**
 * A stored-response call (`GET`/`DELETE /responses/{id}`, `POST /responses/{id}/cancel`,
 * `GET /responses/{id}/input_items`) on `responsesUrl` (the URL new responses are POSTed to): the
 * id encoded as the SDKs encode it, the client's query string as it came (pagination, `include`).
 * No body: the cancel is a POST without one, as the SDKs send it.
 */
export function storedResponseRequest(
  responsesUrl: string,
  stored: StoredResponse,
  query: string | undefined,
  headers: Record<string, string>,
): UpstreamRequest {
  const tail = stored.action === 'cancel' ? '/cancel' : stored.action === 'input_items' ? '/input_items' : '';
  const url = `${responsesUrl}/${encodeURIComponent(stored.id)}${tail}${query ? `?${query}` : ''}`;
  const method = stored.action === 'delete' ? 'DELETE' : stored.action === 'cancel' ? 'POST' : 'GET';
  return { url, method, headers };
}

/** The longest provider message kept (a validation error may list every field of a large request). */
const MAX_MESSAGE = 1000;

/**
 * A provider error body, in neutral form. OpenAI's shape (`{"error":{...}}`) is read as it is. Other
 * OpenAI-compatible hosts answer in shapes of their own, whose message is kept: a top-level
 * `message` (vLLM's and Mistral's `{"object":"error","message":...}`, Azure's `{"statusCode","message"}`;
 * Mistral's may be an object holding FastAPI's `detail`), or FastAPI's `detail` (text, or a list of
 * `{loc, msg}`). Anything else is `Upstream error (HTTP n)` with a bounded copy of the body.
 */
export function openaiErrorToInfo(status: number, body: unknown): ProviderErrorInfo {
  if (body !== null && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e !== null && typeof e === 'object') {
      const r = e as Record<string, unknown>;
      return {
        message: typeof r['message'] === 'string' ? r['message'] : bounded(messageOf(r['message']) ?? `Upstream error (HTTP ${status})`),
        type: typeof r['type'] === 'string' ? r['type'] : statusToType(status),
        code: typeof r['code'] === 'string' ? r['code'] : r['code'] == null ? null : String(r['code']),
        param: typeof r['param'] === 'string' ? r['param'] : null,
      };
    }
    if (typeof e === 'string') return { message: bounded(e), type: statusToType(status), code: null };
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const r = body as Record<string, unknown>;
    const message = messageOf(r['message']) ?? detailText(r['detail']);
    if (message !== null) return { message: bounded(message), type: statusToType(status), code: typeof r['code'] === 'string' ? r['code'] : null };
  }
  const text = typeof body === 'string' ? body : body === null || body === undefined ? '' : JSON.stringify(body);
  return { message: `Upstream error (HTTP ${status})${text.length > 0 ? `: ${text.slice(0, 200)}` : ''}`, type: statusToType(status), code: null };
}

/** A top-level `message`: text, or an object (Mistral's 422 holds FastAPI's `detail` in it). */
function messageOf(m: unknown): string | null {
  if (typeof m === 'string') return m === '' ? null : m;
  if (m === null || typeof m !== 'object') return null;
  return detailText((m as Record<string, unknown>)['detail']) ?? JSON.stringify(m);
}

/** FastAPI's `detail`: text, or validation errors `[{loc: ["body","x"], msg}]` as `body.x: msg; ...`. */
function detailText(d: unknown): string | null {
  if (typeof d === 'string') return d === '' ? null : d;
  if (!Array.isArray(d)) return null;
  const parts = d.flatMap((item) => {
    if (item === null || typeof item !== 'object') return typeof item === 'string' ? [item] : [];
    const { loc, msg } = item as { loc?: unknown; msg?: unknown };
    if (typeof msg !== 'string') return [];
    return [Array.isArray(loc) && loc.length > 0 ? `${loc.join('.')}: ${msg}` : msg];
  });
  return parts.length > 0 ? parts.join('; ') : null;
}

function bounded(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}

export function statusToType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

/**
 * Builds a provider that speaks the OpenAI wire format. OpenAI itself and every OpenAI-compatible host
 * (Groq, Mistral, DeepSeek, vLLM, ...) are rows built by this one factory, as in Portkey's open-ai-base.
 */
export function openaiStyleProvider(id: string, kind: ProviderKind = 'openai-compatible'): Provider {
  return {
    id,
    kind,
    wire: 'openai',
    endpoints: new Set<Endpoint>(['chat', 'completions', 'embeddings', 'responses', 'models', 'moderations', 'images', 'speech', 'transcriptions', 'translations']),
    buildRequest(req: ProviderRequest, target: ProviderTarget): UpstreamRequest {
      if (req.endpoint === 'messages' || req.endpoint === 'count_tokens') {
        throw new Error('openai-style providers do not serve the Anthropic surface');
      }
      const headers: Record<string, string> = { ...target.headers };
      if (req.apiKey) headers['authorization'] = `Bearer ${req.apiKey}`;
      for (const h of PASS_HEADERS) {
        const v = req.passHeaders[h];
        if (v !== undefined) headers[h] = v;
      }
      const url = trimSlash(target.baseUrl) + OPENAI_PATHS[req.endpoint];
      if (req.endpoint === 'models') return { url: url + oneModelPath(req.model), method: 'GET', headers };
      if (req.endpoint === 'responses' && req.stored) return storedResponseRequest(url, req.stored, req.query, headers);
      if (req.form) return formRequest(url, req, headers);
      headers['content-type'] = 'application/json';
      return { url, method: 'POST', headers, body: req.raw ?? JSON.stringify(req.body) };
    },
    toError: openaiErrorToInfo,
  };
}

/**
 * A multipart/form-data request (audio transcriptions and translations), sent as the client sent
 * it: the same bytes under the same content-type, so the boundary still matches. The provider reads
 * the model from the form, so a name the gateway routed by (`openai/whisper-1`, an alias) cannot
 * reach it as is; rewriting the form would mean re-encoding a file of up to 25 MB, so such a name
 * is refused, naming what to send instead.
 */
export function formRequest(url: string, req: ProviderRequest, headers: Record<string, string>): UpstreamRequest {
  const form = req.form!;
  if (req.body['model'] !== req.model) {
    throw new TranslationError(
      `The model of a multipart request is forwarded as the form names it: send model '${req.model}' (choose the provider with x-watchllm-provider), not '${String(req.body['model'])}'.`,
      'model',
    );
  }
  return { url, method: 'POST', headers: { ...headers, 'content-type': form.contentType }, bytes: form.bytes };
}

export const openaiProvider: Provider = openaiStyleProvider('openai', 'openai');
