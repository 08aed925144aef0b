import { priceFor, type Price } from '@watchllm/providers';
import type { Deps } from '../deps.ts';
import type { Exchange } from '../exchange.ts';
import type { Reservation } from './limits.ts';
import type { StreamBudget } from './respond-stream.ts';

/**
 * The call's price: an override or the built-in table for its provider id, else the table of the
 * provider's kind (a second OpenAI account declared as `openai-eu` with `kind: openai` bills like
 * OpenAI instead of being recorded as unpriced).
 */
export function priceOf(x: Exchange, deps: Deps): Price | null {
  if (!x.route) return null;
  const { provider, model } = x.route;
  return priceFor(provider, model, deps.prices, deps.registry.get(provider)?.priceTable);
}

/**
 * A strict budget ends a stream once it would cross the tightest budget: what the call reserved plus
 * what that budget had left beyond it when the call was admitted. (Not the reservation alone: a
 * stream without max_tokens reserves budgets.default_max_tokens, and may run longer while the
 * budget has room.)
 */
export function strictBudget(r: Reservation | null, price: Price | null, x: Exchange): StreamBudget | null {
  if (!r || !price || !x.request.stream || !r.items.some((i) => i.kind === 'usd')) return null;
  return { capUsd: r.usd + r.headroomUsd, promptUsd: r.promptUsd, outputUsd: price.output / 1e6 };
}
