/**
 * Anthropic error -> neutral ProviderErrorInfo with an OpenAI-style `type`.
 * Anthropic errors: https://docs.anthropic.com/en/api/errors (body `{type:"error",error:{type,message}}`).
 * OpenAI has no overloaded/timeout/billing types, so those become the nearest OpenAI type, and `code`
 * always carries Anthropic's own error type so nothing is lost (e.g. type api_error, code overloaded_error;
 * the HTTP status, 529 for overload, is passed on by the gateway unchanged).
 */
import { openaiErrorToInfo, statusToType } from '../openai/index.ts';
import type { ProviderErrorInfo } from '../types.ts';
import { AnthropicErrorBodySchema } from './types.ts';

const OPENAI_TYPES: Readonly<Record<string, string>> = {
  invalid_request_error: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  // OpenAI reports an exhausted balance as insufficient_quota.
  billing_error: 'insufficient_quota',
  api_error: 'api_error',
  overloaded_error: 'api_error',
  timeout_error: 'api_error',
};

/** Maps one Anthropic `error` object (from an HTTP body or a stream `error` event). */
export function mapAnthropicError(error: { type: string; message: string }): ProviderErrorInfo {
  return { message: error.message, type: OPENAI_TYPES[error.type] ?? 'api_error', code: error.type, param: null };
}

export function anthropicErrorToInfo(status: number, body: unknown): ProviderErrorInfo {
  const parsed = AnthropicErrorBodySchema.safeParse(body);
  if (parsed.success) return mapAnthropicError(parsed.data.error);
  const text = typeof body === 'string' ? body.trim() : '';
  // a host's own JSON shape ({"detail": …}, {"message": …}, an OpenAI-style error) still says what went wrong
  const other = typeof body === 'object' && body !== null ? openaiErrorToInfo(status, body).message : '';
  const said = other !== '' && !other.startsWith('Upstream error (HTTP') ? other : null;
  return {
    message: said ?? (text !== '' ? text.slice(0, 1000) : `Anthropic returned HTTP ${status}`),
    // Not Anthropic's error shape (a proxy or load balancer answered): infer the type from the status.
    type: statusToType(status),
    code: null,
    param: null,
  };
}
