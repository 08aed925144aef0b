import type { MiddlewareHandler } from 'hono';
import type { Deps } from './deps.ts';
import { errorBody, GatewayError } from './errors.ts';
import { fingerprint, presentedCredentials } from './pipeline/identify.ts';

export interface IngestIdentity {
  project: string | null;
  keyId: string | null;
}

/**
 * Who is reporting events on POST /v1/events: a gateway key (its project and id), or — when BYOK is
 * allowed — a provider key, attributed by fingerprint like proxied calls. Nothing else is accepted.
 */
export function ingestIdentity(deps: Deps): MiddlewareHandler<{ Variables: { identity: IngestIdentity } }> {
  return async function ingestAuth(c, next) {
    const h: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => (h[k] = v));
    const creds = presentedCredentials(h);
    if (creds.gatewayKey) {
      const key = await deps.stores.keys.lookup(creds.gatewayKey);
      if (!key) return deny(c, 'invalid_gateway_key', 'The WatchLLM gateway key is not valid or has been revoked.');
      c.set('identity', { project: key.project, keyId: key.id });
    } else if (creds.providerKey && deps.config.byok.allowed) {
      c.set('identity', { project: null, keyId: `byok:${fingerprint(creds.providerKey)}` });
    } else {
      return deny(c, 'missing_api_key', 'Send a WatchLLM gateway key (or your provider key) as a Bearer token.');
    }
    await next();
  };
}

function deny(c: Parameters<MiddlewareHandler>[0], code: string, message: string) {
  const err = new GatewayError({ status: 401, type: 'authentication_error', code, message, outcome: 'unauthorized' });
  return c.json(errorBody(err, 'openai'), 401);
}
