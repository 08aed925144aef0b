import { costUsd, priceFor, type Price, type Usage } from '@watchllm/providers';
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
  return { capUsd: r.usd + r.headroomUsd, promptUsd: r.promptUsd, outputUsd: price.output / 1e6, price };
}

/**
 * What a stream would cost if it ended now, as it is then recorded: the output counted so far, and
 * the prompt as the provider counted it once it said so before the end (`reported`: Anthropic's
 * message_start, cache reads and writes at their own prices), else as the call reserved it (request
 * bytes / 4, which errs high: a one-word prompt in a JSON body "counts" 25 tokens). OpenAI reports
 * usage only in its last chunk (chat) or event (Responses), so its streams keep the reservation's.
 */
export function streamCostUsd(b: StreamBudget, reported: Usage | null, outputTokens: number): number {
  if (reported === null) return b.promptUsd + outputTokens * b.outputUsd;
  return costUsd(b.price, { ...reported, completionTokens: outputTokens, reasoningTokens: 0 });
}
