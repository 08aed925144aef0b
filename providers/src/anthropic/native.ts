/**
 * Usage on the native Anthropic surface (`/v1/messages` passed through untranslated): the gateway
 * still needs tokens and the stop reason, from the JSON body or from a tap beside the stream.
 * A tap must never break the stream it watches, so events it cannot read are skipped here.
 */
import { z } from 'zod';
import type { SseEvent, Usage } from '../types.ts';
import { AnthropicUsageSchema, MessageDeltaEventSchema, MessageStartEventSchema, type AnthropicUsage } from './types.ts';
import { mergeDeltaUsage, toUsage } from './usage.ts';

/** Usage of a non-streamed Anthropic Message body, or null when it has none (e.g. an error body). */
export function anthropicUsage(body: unknown): Usage | null {
  if (typeof body !== 'object' || body === null || !('usage' in body)) return null;
  const parsed = LenientUsageSchema.safeParse(body.usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  if (u.input_tokens == null && u.output_tokens == null) return null;
  return toUsage({ ...u, input_tokens: u.input_tokens ?? 0, output_tokens: u.output_tokens ?? 0 });
}

/**
 * Callers may hand in usage merged from stream events, where message_delta's input fields can be
 * null (MessageDeltaUsage in the SDK types); a null count reads as 0 rather than losing the whole usage.
 */
const LenientUsageSchema = AnthropicUsageSchema.extend({
  input_tokens: z.number().int().nonnegative().nullish(),
  output_tokens: z.number().int().nonnegative().nullish(),
});

export interface AnthropicUsageAccumulator {
  push(event: SseEvent): void;
  /** Usage so far (input from message_start, output from the last message_delta); null before message_start. */
  usage(): Usage | null;
  /** Anthropic's raw stop_reason (e.g. "end_turn", "tool_use") once message_delta has arrived. */
  stopReason(): string | null;
}

/** Only these two events carry usage; the frequent content_block_delta events are not parsed at all. */
const USAGE_EVENTS: ReadonlySet<string> = new Set(['message_start', 'message_delta']);

export function createAnthropicUsageAccumulator(): AnthropicUsageAccumulator {
  let usage: AnthropicUsage | null = null;
  let stopReason: string | null = null;

  return {
    push(event: SseEvent): void {
      if (event.event !== undefined && !USAGE_EVENTS.has(event.event)) return;
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        return; // not ours to fail: the client receives the bytes unchanged either way
      }
      const start = MessageStartEventSchema.safeParse(data);
      if (start.success) {
        usage = start.data.message.usage;
        return;
      }
      const delta = MessageDeltaEventSchema.safeParse(data);
      if (delta.success) {
        usage = mergeDeltaUsage(usage, delta.data.usage);
        stopReason = delta.data.delta.stop_reason ?? stopReason;
      }
    },
    usage: () => (usage === null ? null : toUsage(usage)),
    stopReason: () => stopReason,
  };
}
