import { compileGlob } from '@watchllm/policies';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { KeyRecord } from '../stores/index.ts';

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
 * A gateway key may be limited to some models. Listing models uses none (GET /v1/models routes with
 * an empty model): the list is the provider's catalogue, open to every key.
 */
export function checkKeyScope(x: Exchange, key: KeyRecord | null): void {
  if (!key?.allowedModels || !x.route) return;
  if (x.endpoint === 'models' && x.route.model === '') return;
  const model = x.route.model;
  const full = `${x.route.provider}/${model}`;
  // the name the client sent counts too: an alias or a balanced name is the operator's, so a key
  // allowed `fast` may call it (whatever it is routed to), as policies' allow_models see both names
  const asked = x.request.model;
  const ok = key.allowedModels.some((g) => {
    const re = allowedModelPattern(g);
    return re.test(model) || re.test(full) || (asked !== null && re.test(asked));
  });
  if (!ok) {
    throw new GatewayError({
      status: 403,
      type: 'permission_error',
      code: 'model_not_allowed',
      param: 'model',
      outcome: 'denied_policy',
      message: `This gateway key may not use model '${x.request.model}'.`,
    });
  }
}
