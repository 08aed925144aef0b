/**
 * Azure OpenAI: the OpenAI wire format behind deployment-scoped URLs and an `api-key` header.
 * References: https://learn.microsoft.com/azure/ai-foundry/openai/reference (data-plane inference,
 * `/openai/deployments/{deployment}/...?api-version=`), https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
 * (the v1 API: `/openai/v1/...`, no api-version, `model` in the body is the deployment name).
 */
import { oneModelPath, openaiErrorToInfo, statusToType, storedResponseRequest } from '../openai/index.ts';
import { TranslationError, type Endpoint, type Provider, type ProviderErrorInfo, type ProviderRequest, type ProviderTarget, type UpstreamRequest } from '../types.ts';

/** Latest GA data-plane version at the time of writing; override per provider with `apiVersion`. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/**
 * Whether an api-version takes `stream_options` (usage in streams): from 2024-08-01-preview and the
 * 2024-10-21 GA on. Older versions refuse the whole request ("Unrecognized request argument
 * supplied: stream_options"), so their streams are counted by estimate instead. Versions that are
 * not dates (`v1`, `preview`, `latest`) are the current ones.
 */
export function azureStreamsUsage(apiVersion: string | undefined): boolean {
  const v = apiVersion ?? AZURE_DEFAULT_API_VERSION;
  return !/^\d{4}-\d{2}-\d{2}/.test(v) || v >= '2024-08-01';
}

const DEPLOYMENT_PATHS: Readonly<Partial<Record<Endpoint, string>>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  // https://learn.microsoft.com/azure/ai-foundry/openai/reference-preview (Image generations, Audio):
  // the same deployment-scoped routes, under the deployment of an image, tts or whisper model
  images: '/images/generations',
  speech: '/audio/speech',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
};

/**
 * The resource endpoint as the AzureOpenAI SDK's `endpoint` takes it (https://<resource>.openai.azure.com).
 * A base URL given in the SDK's `baseURL` form (ending in /openai or /openai/v1) is accepted too.
 */
export function azureResourceBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/openai(\/v1)?$/, '');
}

export const azureProvider: Provider = {
  id: 'azure',
  kind: 'azure',
  wire: 'openai',
  // no moderations: Azure has none (its content filters run on every call; Azure AI Content Safety is another service)
  endpoints: new Set<Endpoint>(['chat', 'completions', 'embeddings', 'responses', 'models', 'images', 'speech', 'transcriptions', 'translations']),

  buildRequest(req: ProviderRequest, target: ProviderTarget): UpstreamRequest {
    const base = azureResourceBase(target.baseUrl);
    const version = encodeURIComponent(target.apiVersion ?? AZURE_DEFAULT_API_VERSION);
    const headers: Record<string, string> = { ...target.headers };
    if (req.apiKey !== undefined) headers['api-key'] = req.apiKey;
    const deployment = target.deployments?.[req.model] ?? req.model;

    if (req.endpoint === 'models') {
      // The resource's models (not its deployments): the list, or one (Models - Get, /openai/models/{model-id}).
      return { url: `${base}/openai/models${oneModelPath(req.model)}?api-version=${version}`, method: 'GET', headers };
    }
    // A stored response (retrieve, delete, cancel, input items) lives under the same v1 route:
    // /openai/v1/responses/{id}..., no api-version, no deployment (the id names it).
    if (req.endpoint === 'responses' && req.stored) return storedResponseRequest(`${base}/openai/v1/responses`, req.stored, req.query, headers);
    headers['content-type'] = 'application/json';
    if (req.endpoint === 'responses') {
      // The Responses API is served only by the v1 API, which takes the deployment as `model` and
      // needs no api-version (the deployment-scoped routes never carried it).
      return { url: `${base}/openai/v1/responses`, method: 'POST', headers, body: JSON.stringify({ ...req.body, model: deployment }) };
    }
    const path = DEPLOYMENT_PATHS[req.endpoint];
    if (path === undefined) throw new TranslationError(`The ${req.endpoint} endpoint is not available for Azure OpenAI`, null);
    const url = `${base}/openai/deployments/${encodeURIComponent(deployment)}${path}?api-version=${version}`;
    // A form goes as the client sent it: the deployment in the URL selects the model, the form's is informational.
    if (req.form) return { url, method: 'POST', headers: { ...headers, 'content-type': req.form.contentType }, bytes: req.form.bytes };
    return {
      url,
      method: 'POST',
      headers,
      // Azure selects the model by the deployment in the URL; `model` in the body is informational.
      body: JSON.stringify({ ...req.body, model: req.model }),
    };
  },

  toError(status: number, body: unknown): ProviderErrorInfo {
    // Gateway-level rejections (e.g. a missing key) come as {statusCode, message}, not OpenAI's shape.
    if (body !== null && typeof body === 'object' && !('error' in body) && 'message' in body && typeof body.message === 'string') {
      return { message: body.message, type: statusToType(status), code: null, param: null };
    }
    return { param: null, ...openaiErrorToInfo(status, body) };
  },
};
