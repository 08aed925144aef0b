import type { ProviderErrorInfo, Surface } from '@watchllm/providers';
import type { Outcome } from './exchange.ts';
import { StoreUnavailableError } from './stores/errors.ts';

/**
 * The one error type of the gateway. Whatever goes wrong becomes a GatewayError, and one function
 * (`errorBody`) renders it in the shape of the surface the client called: OpenAI's
 * `{"error":{"message","type","code","param"}}` or Anthropic's `{"type":"error","error":{"type","message"}}`.
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly outcome: Outcome;
  readonly headers: Readonly<Record<string, string>>;

  constructor(init: {
    status: number;
    type: string;
    message: string;
    code?: string | null;
    param?: string | null;
    outcome?: Outcome;
    headers?: Record<string, string>;
  }) {
    super(init.message);
    this.status = init.status;
    this.type = init.type;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.outcome = init.outcome ?? (init.status >= 500 ? 'internal_error' : 'invalid');
    this.headers = init.headers ?? {};
  }

  static invalid(message: string, param: string | null = null, code = 'invalid_request'): GatewayError {
    return new GatewayError({ status: 400, type: 'invalid_request_error', message, param, code });
  }

  static fromUpstream(status: number, info: ProviderErrorInfo): GatewayError {
    return new GatewayError({
      status,
      type: info.type,
      message: info.message,
      code: info.code,
      param: info.param ?? null,
      outcome: 'upstream_error',
    });
  }
}

/** Anthropic's error types (https://docs.anthropic.com/en/api/errors). */
const ANTHROPIC_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function errorBody(err: GatewayError, surface: Surface): unknown {
  if (surface === 'anthropic') {
    return {
      type: 'error',
      error: { type: ANTHROPIC_TYPES[err.status] ?? (err.status >= 500 ? 'api_error' : 'invalid_request_error'), message: err.message },
    };
  }
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
}

/** Anything thrown that is not a GatewayError is a bug: report it without leaking internals. */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (e instanceof StoreUnavailableError) {
    // A store outage the fail mode does not absorb (the key store always fails closed: an unknown key
    // must never get through). An outage is not a gateway bug: a call whose key could not be looked
    // up is one the gateway could not authenticate (error type keys_unavailable says why).
    return new GatewayError({
      status: 503,
      type: 'api_error',
      code: `${e.store}_unavailable`,
      outcome: e.store === 'keys' ? 'unauthorized' : 'internal_error',
      message: `The gateway's ${e.store} store is unavailable; retry shortly.`,
      headers: { 'retry-after': '1' },
    });
  }
  return new GatewayError({
    status: 500,
    type: 'api_error',
    code: 'internal_error',
    message: 'The gateway failed to handle this request. It has been recorded with its request id.',
    outcome: 'internal_error',
  });
}

/** The reason calls still in flight are aborted with when the shutdown grace period is over. */
export class GatewayShutdown extends Error {
  override readonly name = 'GatewayShutdown';
  constructor() {
    super('The gateway is shutting down.');
  }
}

/** Whether `e` (or what caused it) is the shutdown's abort. */
export function isShutdownAbort(e: unknown): boolean {
  for (let cur = e, i = 0; i < 4 && cur instanceof Error; i++, cur = (cur as { cause?: unknown }).cause) {
    if (cur instanceof GatewayShutdown) return true;
  }
  return false;
}

/** A call ended by the gateway's own shutdown: not the provider's failure, and worth retrying elsewhere. */
export function shutdownError(): GatewayError {
  return new GatewayError({
    status: 503,
    type: 'api_error',
    code: 'gateway_shutdown',
    outcome: 'internal_error',
    message: 'The gateway is shutting down and ended this call before it finished; retry it.',
    headers: { 'retry-after': '1' },
  });
}

/**
 * Why a stream that had begun ended before the provider's end: the gateway's shutdown, the
 * provider going quiet past the idle timeout (504), or the stream cut (502). `cause` is what the
 * read of the upstream body threw, null when it just ended; `events` were seen before.
 */
export function streamCutError(cause: unknown, events: number): GatewayError {
  if (isShutdownAbort(cause)) return shutdownError();
  const timeout = cause instanceof Error && /timeout/i.test(cause.name + String((cause as { code?: unknown }).code));
  return new GatewayError({
    status: timeout ? 504 : 502,
    type: 'api_error',
    code: timeout ? 'upstream_timeout' : 'upstream_stream_cut',
    outcome: timeout ? 'timeout' : 'upstream_error',
    message: timeout
      ? 'The provider stopped sending in the middle of the stream (idle timeout).'
      : `The provider's stream was cut before it completed (after ${events} events).`,
  });
}

/** The client went away before its answer (499, nginx's code for it). */
export function clientClosedError(): GatewayError {
  return new GatewayError({ status: 499, type: 'api_error', code: 'client_closed', outcome: 'client_closed', message: 'Client closed the request.' });
}
