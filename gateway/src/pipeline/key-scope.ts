import { compileGlob } from '@watchllm/policies';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { KeyRecord } from '../stores/index.ts';
import { isStoredResponse } from './parse.ts';

/** Compiled allowed-model globs of keys, by glob: key records are rebuilt per lookup, globs repeat. */
const allowedModelPatterns = new Map<string, RegExp>();

function allowedModelPattern(glob: string): RegExp {
  let re = allowedModelPatterns.get(glob);
  if (!re) {
    // keys are created at runtime: bound the memory, not the hit rate of a sane deployment
    if (allowedModelPatterns.size >= 10_000) allowedModelPatterns.clear();
    re = compileGlob(glob);
    allowedModelPatterns.set(glob, re);
  }
  return re;
}

/**
 * Whether an allowed-model glob lets a key reach `provider` at all: a bare model glob (`gpt-4o*`,
 * `meta-llama/*`) names models any provider may serve (x-watchllm-provider picks it); one whose
 * first segment names another provider (`groq/*`), or a pattern of providers (`gr*` before the slash), only
 * the providers it names.
 */
export function globReachesProvider(glob: string, provider: string, providers: ReadonlySet<string>): boolean {
  const slash = glob.indexOf('/');
  if (slash === -1) return true;
  const first = glob.slice(0, slash).toLowerCase();
  if (/[*?]/.test(first)) return allowedModelPattern(first).test(provider);
  return first === provider.toLowerCase() || !providers.has(first);
}

/**
 * A gateway key may be limited to some models. Listing models uses none (GET /v1/models routes with
 * an empty model): the list is the provider's catalogue, open to every key. A stored response's calls
 * (GET /v1/responses/{id}, ...) name no model either: the key must be allowed some model of the
 * provider that holds the response (`providers`: the configured ids, which tell a provider prefix
 * from a model name's own first segment). So must one for a moderation naming no model; an image
 * naming none is refused (the provider's default draws, paid).
 */
export function checkKeyScope(x: Exchange, key: KeyRecord | null, providers: ReadonlySet<string> = new Set()): void {
  if (!key?.allowedModels || !x.route) return;
  if (x.endpoint === 'models' && x.route.model === '') return;
  // An image that names no model is drawn by the provider's default model (at OpenAI, dall-e-2: paid,
  // and which the gateway can neither check nor price): a key limited to some models must name the one
  // it draws with, which is then checked as any model is.
  if (x.endpoint === 'images' && x.request.model === null) {
    throw notAllowed('This gateway key may use only some models: name the image model (`model`), which must be one of them.', 'model');
  }
  // A moderation (free) that names no model is answered by the provider's default model: the key
  // must be allowed some model of that provider, as for a stored response.
  if (isStoredResponse(x) || (x.request.model === null && x.route.model === '')) {
    const provider = x.route.provider;
    if (key.allowedModels.some((g) => globReachesProvider(g, provider, providers))) return;
    throw notAllowed(`This gateway key may not use provider '${provider}' (none of its allowed models is served there).`, null);
  }
  const model = x.route.model;
  const full = `${x.route.provider}/${model}`;
  // the name the client sent counts too: an alias or a balanced name is the operator's, so a key
  // allowed `fast` may call it (whatever it is routed to), as policies' allow_models see both names
  const asked = x.request.model;
  const ok = key.allowedModels.some((g) => {
    const re = allowedModelPattern(g);
    return re.test(model) || re.test(full) || (asked !== null && re.test(asked));
  });
  if (!ok) throw notAllowed(`This gateway key may not use model '${x.request.model}'.`, 'model');
}

/** A key's allowed_models refusing the call: 403 model_not_allowed, recorded as a policy denial. */
function notAllowed(message: string, param: 'model' | null): GatewayError {
  return new GatewayError({ status: 403, type: 'permission_error', code: 'model_not_allowed', param, outcome: 'denied_policy', message });
}
