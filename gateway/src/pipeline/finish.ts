import { costUsd, priceFor, type PriceOverrides } from '@watchllm/providers';
import type { Exchange } from '../exchange.ts';
import { estimateUsage } from '../usage/estimate.ts';

/**
 * Settles what the call used: tokens (from the provider, else a tiktoken estimate for streams that
 * produced text) and cost (null when the model has no known price: unpriced, never $0).
 */
export function settle(x: Exchange, prices: PriceOverrides | undefined): void {
  x.response.endedAt ??= performance.now();
  if (
    x.response.usage === null &&
    x.request.stream &&
    x.route !== null &&
    x.response.status === 200 &&
    (x.response.body?.length ?? 0) > 0
  ) {
    x.response.usage = estimateUsage(x.request.body, x.response.body ?? '');
    x.response.usageSource = 'estimate';
  }
  if (x.response.usage && x.route) {
    const price = priceFor(x.route.provider, x.route.model, prices);
    x.costUsd = price ? costUsd(price, x.response.usage) : null;
  }
}
