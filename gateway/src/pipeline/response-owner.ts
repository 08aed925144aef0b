import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { Logger } from '../log.ts';
import type { CachedResponse, CacheStore } from '../stores/index.ts';
import { tenantScope } from './cache.ts';
import { isStoredResponse, MAX_RESPONSE_ID_CHARS, storedResponseOf } from './parse.ts';

/**
 * Who made each stored response of the Responses API. The gateway keys of every project that uses
 * the key the gateway holds share one provider account, and that account holds all their responses:
 * without this, a caller of one project who learned another's response id could read it (its answer,
 * its input items), delete it, cancel it, or continue its conversation (`previous_response_id`) with
 * its context. The id is long and random, but tenants must not be kept apart by the secrecy of ids.
 *
 * So the gateway records the owner of every response it sees made (POST /v1/responses: the id in the
 * answer, or a stream's first event) — the tenant scope the cache uses (`project:…`, or `key:…` for a
 * caller's own provider key, whose account already keeps it apart) — under the provider and the id,
 * in the marks store (Stores.marks: in process apart from cached answers, with Redis shared by the
 * replicas), for 30 days: OpenAI keeps a stored response as long. A call on a response owned by another scope is refused before it is sent, with
 * the answer the provider gives for an id it does not hold.
 *
 * A response without a mark (made before the gateway kept them, or outside it) is let through: there
 * is no owner to check against, and its id is as hard to guess as ever. So is one whose mark cannot be
 * read: the store fails open (a Redis outage reads as a miss, failmode.ts), and an in-process one
 * drops its least recently used marks when full. The mark is a check on top of the id's
 * secrecy, not instead of it.
 */

/**
 * OpenAI keeps stored responses 30 days (unless deleted): so long are the gateway's marks about one
 * kept (its owner here; finish.ts: that its usage was counted, a background call's reservation).
 */
export const MARK_TTL_SECONDS = 30 * 24 * 3600;

/** Where a mark about response `id` of `provider` is kept. */
export function markKey(kind: 'owner' | 'usage' | 'reservation', provider: string, id: string): string {
  return `responses-${kind}:${provider}:${id}`;
}

/** A mark as the marks store keeps it (a CacheStore's record): `body` is what it says. */
export function mark(model: string, body: string): CachedResponse {
  return { status: 200, headers: {}, usage: null, model, body, createdAt: Date.now() };
}

/**
 * What the owner check found: the caller made the response (`owner`), or nobody is known to have
 * (`unmarked`). A call on someone else's response never gets this far: it is refused.
 */
export type Ownership = 'owner' | 'unmarked';

/**
 * The stored response a call acts on: a stored-response call's (retrieve, delete, cancel, input
 * items), or the `previous_response_id` a new response continues; null for any other call.
 */
export function namedResponse(x: Exchange): { id: string; previous: boolean } | null {
  if (x.endpoint !== 'responses') return null;
  const stored = storedResponseOf(x);
  if (stored) return { id: stored.id, previous: false };
  const prev = x.request.body?.['previous_response_id'];
  // (an id no mark can be under was never recorded: ids longer than a path may name are not)
  return typeof prev === 'string' && prev !== '' && prev.length <= MAX_RESPONSE_ID_CHARS ? { id: prev, previous: true } : null;
}

/**
 * Checks that the caller owns the response its call names, once routed and identified; throws the
 * provider's own answer for an unknown id when another scope does. Null when the call names none.
 */
export async function checkResponseOwner(cache: CacheStore, x: Exchange, log: Logger): Promise<Ownership | null> {
  const named = namedResponse(x);
  if (named === null || x.route === null) return null;
  let owner: string | null = null;
  try {
    owner = (await cache.get(markKey('owner', x.route.provider, named.id)))?.body ?? null;
  } catch (e) {
    // The cache store fails open (a miss) by itself; an in-process one never throws. Anything else
    // is a bug, logged, and the mark treated as unread.
    log.warn({ requestId: x.id, err: e }, 'reading the owner of a stored response failed');
    return 'unmarked';
  }
  if (owner === null) return 'unmarked';
  // (an anonymous caller, of a keyless host, has no scope: it owns nothing)
  if (owner === tenantScope(x)) return 'owner';
  throw named.previous ? previousResponseNotFound(named.id) : responseNotFound(named.id);
}

/**
 * What OpenAI answers for a response id it does not hold (GET, DELETE, cancel, input items): the
 * caller learns nothing of a response another scope made, not even that it exists.
 */
export function responseNotFound(id: string): GatewayError {
  return new GatewayError({ status: 404, type: 'invalid_request_error', message: `Response with id '${id}' not found.`, outcome: 'invalid' });
}

/** What OpenAI answers for a `previous_response_id` it does not hold: a 400 naming the parameter. */
export function previousResponseNotFound(id: string): GatewayError {
  return new GatewayError({
    status: 400,
    type: 'invalid_request_error',
    message: `Previous response with id '${id}' not found.`,
    param: 'previous_response_id',
    code: 'previous_response_not_found',
    outcome: 'invalid',
  });
}

/**
 * Records the caller's scope as the owner of the response its call made (`x.response.responseId`,
 * respond-json.ts / the stream tap), whatever became of the call after the provider made it (a
 * stream cut short, an answer a policy refused): the response is stored at the provider all the same.
 * Not for a response made with `store: false` (nothing is kept to be asked about), nor for an
 * anonymous caller (no scope to own it). A failure is logged: the response is then unmarked.
 */
export async function recordResponseOwner(cache: CacheStore, x: Exchange, log: Logger): Promise<void> {
  const id = x.response.responseId;
  const scope = tenantScope(x);
  if (id === null || id.length > MAX_RESPONSE_ID_CHARS || x.route === null || scope === null || x.request.body?.['store'] === false || isStoredResponse(x)) return;
  try {
    await cache.set(markKey('owner', x.route.provider, id), mark(x.route.model, scope), MARK_TTL_SECONDS);
  } catch (e) {
    log.warn({ requestId: x.id, err: e }, 'recording the owner of a stored response failed');
  }
}
