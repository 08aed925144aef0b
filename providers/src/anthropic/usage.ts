/**
 * Anthropic usage -> normalised Usage -> OpenAI usage.
 *
 * Anthropic's `input_tokens` excludes cached input: the total prompt is
 * input_tokens + cache_read_input_tokens + cache_creation_input_tokens
 * (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance).
 * OpenAI's `prompt_tokens` includes cached tokens, so we add them up. Thinking tokens are part of
 * `output_tokens` and are not reported separately, hence reasoningTokens 0.
 */
import { openaiUsageBase } from '../openai/chat-response.ts';
import type { Usage } from '../types.ts';
import type { FinishReason, OpenaiUsage } from './openai-types.ts';
import type { AnthropicUsage, MessageDeltaUsage } from './types.ts';

export function toUsage(u: AnthropicUsage): Usage {
  const cachedTokens = u.cache_read_input_tokens ?? 0;
  const split = u.cache_creation;
  const cacheWriteTokens = u.cache_creation_input_tokens ?? (split?.ephemeral_5m_input_tokens ?? 0) + (split?.ephemeral_1h_input_tokens ?? 0);
  // 1-hour writes cost 2x input, 5-minute ones 1.25x; never more than the writes (a message_delta can
  // update the total without the breakdown).
  const cacheWrite1hTokens = Math.min(cacheWriteTokens, split?.ephemeral_1h_input_tokens ?? 0);
  return {
    promptTokens: u.input_tokens + cachedTokens + cacheWriteTokens,
    completionTokens: u.output_tokens,
    cachedTokens,
    cacheWriteTokens,
    reasoningTokens: 0,
    ...(cacheWrite1hTokens > 0 && { cacheWrite1hTokens }),
  };
}

/**
 * Cache writes go out under Anthropic's own names: `cache_creation_input_tokens`, and, when Anthropic
 * sent it, their split by cache lifetime in `cache_creation` (1-hour writes cost more; the gateway
 * reads them back in usageFromOpenai to price them).
 */
export function toOpenaiUsage(a: AnthropicUsage): OpenaiUsage {
  const u = toUsage(a);
  const out: OpenaiUsage = { ...openaiUsageBase(u), cache_creation_input_tokens: u.cacheWriteTokens };
  if (a.cache_creation) {
    out.cache_creation = {
      ephemeral_5m_input_tokens: a.cache_creation.ephemeral_5m_input_tokens ?? 0,
      ephemeral_1h_input_tokens: a.cache_creation.ephemeral_1h_input_tokens ?? 0,
    };
  }
  return out;
}

/**
 * Stop reasons: https://docs.anthropic.com/en/api/handling-stop-reasons. `pause_turn` (a server tool
 * paused a long turn) ends the response normally from the client's view; `refusal` is a safety stop.
 * Unknown future reasons read as "stop" rather than failing a finished answer.
 */
const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function toFinishReason(stopReason: string | null | undefined): FinishReason {
  return (stopReason != null ? FINISH_REASONS[stopReason] : undefined) ?? 'stop';
}

/**
 * message_delta usage is cumulative (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
 * output_tokens replaces the message_start value; input counts replace it only when present.
 */
export function mergeDeltaUsage(start: AnthropicUsage | null, delta: MessageDeltaUsage): AnthropicUsage {
  return {
    input_tokens: delta.input_tokens ?? start?.input_tokens ?? 0,
    output_tokens: delta.output_tokens,
    cache_creation_input_tokens: delta.cache_creation_input_tokens ?? start?.cache_creation_input_tokens ?? null,
    cache_read_input_tokens: delta.cache_read_input_tokens ?? start?.cache_read_input_tokens ?? null,
    cache_creation: delta.cache_creation ?? start?.cache_creation ?? null,
  };
}
