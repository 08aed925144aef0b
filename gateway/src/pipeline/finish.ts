import { costUsd, MEDIA_ENDPOINTS, type Price } from '@watchllm/providers';
import type { Exchange } from '../exchange.ts';
import { answerText } from '../answer-text.ts';
import { parseJson } from '../json.ts';
import type { Logger } from '../log.ts';
import type { Reservation } from './limits.ts';
import type { CacheStore } from '../stores/index.ts';
import { estimateUsage } from '../usage/estimate.ts';
import { isStoredResponse, storedResponseOf } from './parse.ts';
import { settleMediaCost } from './media.ts';
import { MARK_TTL_SECONDS, mark, markKey, type Ownership } from './response-owner.ts';

/**
 * Settles what the call used: tokens (from the provider, else a tiktoken estimate for streams that
 * produced text) and cost (null when the model has no known price: unpriced, never $0).
 * `price` is the routed model's, looked up once by the pipeline.
 */
export function settle(x: Exchange, price: Price | null): void {
  x.response.endedAt ??= performance.now();
  // Listing models, counting tokens and a stored response's calls generate nothing: there is no
  // usage to estimate. Nor is there for a background response still queued: it comes later. Media
  // (images, audio, moderations) is no number of tokens: priced by what the provider reports (media.ts).
  if (MEDIA_ENDPOINTS.has(x.endpoint)) return settleMediaCost(x, price);
  const generates = x.endpoint !== 'models' && x.endpoint !== 'count_tokens' && !isStoredResponse(x) && !awaitsBackground(x);
  if (x.response.usage === null && x.route !== null && x.response.status === 200 && generates) {
    // Streams keep the answer text in response.body; complete answers keep the JSON.
    const answer = x.request.stream ? (x.response.body ?? '') : answerText(x.response.body ? parseJson(x.response.body) : null);
    x.response.usage = estimateUsage(x.request.body, answer);
    x.response.usageSource = 'estimate';
  }
  // A cache hit was priced when served (cost 0, the avoided cost in cache.savedUsd): its usage is
  // the stored answer's, and pricing it here again would bill the user for a call never made.
  if (x.response.usage && x.route && x.outcome !== 'cache_hit') {
    x.costUsd = price ? costUsd(price, x.response.usage) : null;
  }
}

/**
 * A Responses API call answered with a response still to be made (`background: true`: status
 * `queued` or `in_progress`, no usage). Its usage is reported once it has finished, to whoever
 * retrieves it (keepStoredUsageOnce); until then nothing is known of it.
 */
export function awaitsBackground(x: Exchange): boolean {
  return (
    x.endpoint === 'responses' &&
    x.outcome === 'success' &&
    x.response.usage === null &&
    (x.response.finishReason === 'queued' || x.response.finishReason === 'in_progress') &&
    !isStoredResponse(x)
  );
}

/**
 * A finished background response's usage (respond-json.ts keeps it on a retrieve or cancel of one)
 * is recorded with the first call that sees it, and dropped from the others: a client polls a
 * response, and may read it again later, and each of those calls would otherwise count (and cost)
 * it once more. The first one leaves a mark in the marks store (shared by the replicas with Redis)
 * under the provider and the response id. Best effort: two calls reading it at the same moment may
 * both count it; with the store unreachable, or the mark dropped from a full in-process store, a
 * later one may too. A failure to set the mark keeps the usage (the provider billed it).
 *
 * Only the response's owner counts it (`ownership`, response-owner.ts: anyone else's call was refused
 * before it was sent), so nobody takes on another tenant's cost; for a response with no known owner
 * (made before owners were recorded, or outside the gateway) the first reader does, as before. A call
 * whose ownership was never checked counts nothing.
 */
export async function keepStoredUsageOnce(cache: CacheStore, x: Exchange, log: Logger, ownership: Ownership | null): Promise<Reservation | null> {
  const stored = storedResponseOf(x);
  if (!stored || !x.route || x.response.usage === null) return null;
  if (ownership === null) {
    x.response.usage = null;
    x.response.usageSource = 'none';
    return null;
  }
  const key = markKey('usage', x.route.provider, stored.id);
  try {
    if ((await cache.get(key)) !== null) {
      x.response.usage = null;
      x.response.usageSource = 'none';
      return null;
    }
    await cache.set(key, mark(x.route.model, ''), MARK_TTL_SECONDS);
    // what the background call reserved, to settle now that its usage is known
    const kept = await cache.get(markKey('reservation', x.route.provider, stored.id));
    return kept?.body ? (JSON.parse(kept.body) as Reservation) : null;
  } catch (e) {
    log.warn({ requestId: x.id, err: e }, 'marking a background response as counted failed');
    return null;
  }
}

/**
 * A background call answered `queued` keeps its reservation (limits.ts settleReservation): the most
 * it may use stays counted until its usage is known. Kept here under its response id, the first
 * retrieval that sees it finished settles it to what it used (keepStoredUsageOnce), in the windows
 * of the call that made it, rather than count both its worst case and its usage.
 */
export async function keepBackgroundReservation(cache: CacheStore, x: Exchange, reservation: Reservation, log: Logger): Promise<void> {
  if (!awaitsBackground(x) || x.route === null || x.response.responseId === null) return;
  try {
    const key = markKey('reservation', x.route.provider, x.response.responseId);
    await cache.set(key, mark(x.route.model, JSON.stringify(reservation)), MARK_TTL_SECONDS);
  } catch (e) {
    log.warn({ requestId: x.id, err: e }, 'keeping a background call\'s reservation failed');
  }
}
