/**
 * Gemini errors -> neutral ProviderErrorInfo. Gemini uses Google's AIP-193 shape
 * `{error: {code, message, status, details}}` (https://ai.google.dev/gemini-api/docs/troubleshooting);
 * the streaming endpoint without alt=sse wraps it in an array, handled too.
 */
import { statusToType } from '../openai/index.ts';
import type { ProviderErrorInfo } from '../types.ts';
import { GeminiErrorSchema } from './types.ts';

const TYPE_BY_STATUS: Readonly<Record<string, string>> = {
  INVALID_ARGUMENT: 'invalid_request_error',
  FAILED_PRECONDITION: 'invalid_request_error',
  OUT_OF_RANGE: 'invalid_request_error',
  NOT_FOUND: 'invalid_request_error',
  UNAUTHENTICATED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  RESOURCE_EXHAUSTED: 'rate_limit_error',
};

export function geminiErrorToInfo(status: number, body: unknown): ProviderErrorInfo {
  const parsed = GeminiErrorSchema.safeParse(Array.isArray(body) ? body[0] : body);
  if (!parsed.success) {
    const text = typeof body === 'string' && body.length > 0 ? `: ${body.slice(0, 200)}` : '';
    return { message: `Gemini error (HTTP ${status})${text}`, type: statusToType(status), code: null, param: null };
  }
  const e = parsed.data.error;
  const message = e.message ?? `Gemini error (HTTP ${status})`;
  // A bad key comes back as 400 INVALID_ARGUMENT with reason API_KEY_INVALID; clients expect a 401.
  if (e.details?.some((d) => d.reason === 'API_KEY_INVALID')) {
    return { message, type: 'authentication_error', code: 'invalid_api_key', param: null, status: 401 };
  }
  const type = (e.status && TYPE_BY_STATUS[e.status]) ?? statusToType(e.code ?? status);
  return { message, type, code: e.status ?? null, param: null };
}
