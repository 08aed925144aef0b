import { costUsd, priceFor, type PriceOverrides } from '@watchllm/providers';
import type { Exchange } from '../exchange.ts';
import { estimateUsage } from '../usage/estimate.ts';

/**
 * Settles what the call used: tokens (from the provider, else a tiktoken estimate for streams that
 * produced text) and cost (null when the model has no known price: unpriced, never $0).
 */
export function settle(x: Exchange, prices: PriceOverrides | undefined): void {
  x.response.endedAt ??= performance.now();
  if (x.response.usage === null && x.route !== null && x.response.status === 200 && x.endpoint !== 'models') {
    // Streams keep the answer text in response.body; complete answers keep the JSON.
    const answer = x.request.stream ? (x.response.body ?? '') : answerText(x.response.body);
    x.response.usage = estimateUsage(x.request.body, answer);
    x.response.usageSource = 'estimate';
  }
  if (x.response.usage && x.route) {
    const price = priceFor(x.route.provider, x.route.model, prices);
    x.costUsd = price ? costUsd(price, x.response.usage) : null;
  }
}

/** The generated text of a complete OpenAI or Anthropic answer (only read when no usage came back). */
function answerText(json: string | null): string {
  if (!json) return '';
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return '';
  }
  const out: string[] = [];
  const r = o as { choices?: Array<{ message?: { content?: unknown }; text?: unknown }>; content?: Array<{ text?: unknown }>; output_text?: unknown };
  for (const c of r.choices ?? []) {
    if (typeof c.message?.content === 'string') out.push(c.message.content);
    if (typeof c.text === 'string') out.push(c.text);
  }
  for (const b of Array.isArray(r.content) ? r.content : []) if (typeof b.text === 'string') out.push(b.text);
  if (typeof r.output_text === 'string') out.push(r.output_text);
  return out.join('');
}
