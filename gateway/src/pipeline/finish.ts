import { costUsd, type Price } from '@watchllm/providers';
import type { Exchange } from '../exchange.ts';
import { answerText } from '../answer-text.ts';
import { parseJson } from '../json.ts';
import { estimateUsage } from '../usage/estimate.ts';

/**
 * Settles what the call used: tokens (from the provider, else a tiktoken estimate for streams that
 * produced text) and cost (null when the model has no known price: unpriced, never $0).
 * `price` is the routed model's, looked up once by the pipeline.
 */
export function settle(x: Exchange, price: Price | null): void {
  x.response.endedAt ??= performance.now();
  // Listing models and counting tokens generate nothing: there is no usage to estimate.
  const generates = x.endpoint !== 'models' && x.endpoint !== 'count_tokens';
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

