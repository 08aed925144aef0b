import type {
  Endpoint,
  Provider,
  ProviderErrorInfo,
  ProviderKind,
  ProviderRequest,
  ProviderTarget,
  UpstreamRequest,
} from '../types.ts';

/** Paths relative to an OpenAI-style base URL (which, like the SDK's baseURL, already ends in /v1). */
const OPENAI_PATHS: Readonly<Record<Exclude<Endpoint, 'messages' | 'count_tokens'>, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
  models: '/models',
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

/** OpenAI-shaped error bodies pass through as they are; anything else becomes an api_error. */
export function openaiErrorToInfo(status: number, body: unknown): ProviderErrorInfo {
  if (body !== null && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e !== null && typeof e === 'object') {
      const r = e as Record<string, unknown>;
      return {
        message: typeof r['message'] === 'string' ? r['message'] : `Upstream error (HTTP ${status})`,
        type: typeof r['type'] === 'string' ? r['type'] : statusToType(status),
        code: typeof r['code'] === 'string' ? r['code'] : r['code'] == null ? null : String(r['code']),
        param: typeof r['param'] === 'string' ? r['param'] : null,
      };
    }
    if (typeof e === 'string') return { message: e, type: statusToType(status), code: null };
  }
  const text = typeof body === 'string' && body.length > 0 ? `: ${body.slice(0, 200)}` : '';
  return { message: `Upstream error (HTTP ${status})${text}`, type: statusToType(status), code: null };
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
    endpoints: new Set<Endpoint>(['chat', 'completions', 'embeddings', 'responses', 'models']),
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
      headers['content-type'] = 'application/json';
      return { url, method: 'POST', headers, body: req.raw ?? JSON.stringify(req.body) };
    },
    toError: openaiErrorToInfo,
  };
}

export const openaiProvider: Provider = openaiStyleProvider('openai', 'openai');
