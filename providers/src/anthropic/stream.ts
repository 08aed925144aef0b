/**
 * Anthropic Messages stream -> OpenAI chat.completion.chunk events.
 *
 * Anthropic's sequence (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
 * message_start, then per content block content_block_start / content_block_delta* / content_block_stop,
 * then message_delta (stop_reason, cumulative usage), message_stop; `ping` may appear anywhere and
 * `error` may arrive mid-stream (e.g. overloaded_error). Unknown event types are skipped, as asked.
 *
 * OpenAI's sequence: a first chunk with delta.role, content/tool_call deltas, a chunk with
 * finish_reason, and, only when stream_options.include_usage was set, a last chunk with `choices: []`
 * and usage (every other chunk then carries `usage: null`, as OpenAI does).
 *
 * Tool calls are numbered 0, 1, ... in the order their blocks start: OpenAI's `tool_calls[].index`
 * counts tool calls, while Anthropic's block index also counts text and thinking blocks.
 *
 * Thinking streams as `reasoning_content` deltas; when a thinking block ends, one more chunk carries
 * the whole block with its signature in `delta.thinking_blocks` (a redacted block as soon as it
 * starts), so a client can send it back as the non-streamed answer's `message.thinking_blocks` allows.
 *
 * A mid-stream `error` event becomes `data: {"error":{message,type,code}}`, the shape OpenAI itself
 * sends when a stream fails after it started; the gateway then ends the stream as usual.
 */
import { chatChunk, chunkChoice } from '../openai/chat-response.ts';
import type { SseEvent, SseOut, StreamTranslator, TranslateContext } from '../types.ts';
import { mapAnthropicError } from './errors.ts';
import type { ChatCompletionChunk, ChunkDelta, FinishReason, OpenaiUsage } from './openai-types.ts';
import { STREAM_EVENT_TYPES, StreamEventSchema, type AnthropicUsage, type StreamEvent } from './types.ts';
import { mergeDeltaUsage, toFinishReason, toOpenaiUsage } from './usage.ts';

/** Parses one Anthropic SSE event; null for event types this module does not know. Throws on malformed data. */
export function parseStreamEvent(event: SseEvent): StreamEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new Error(`Anthropic stream event "${event.event ?? 'message'}" is not JSON: ${event.data.slice(0, 200)}`);
  }
  const type = typeof data === 'object' && data !== null && 'type' in data ? data.type : event.event;
  if (typeof type !== 'string' || !STREAM_EVENT_TYPES.has(type)) return null;
  const parsed = StreamEventSchema.safeParse(data);
  if (!parsed.success) {
    throw new Error(`Anthropic stream event "${type}" has an unexpected shape: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return parsed.data;
}

interface ChunkFields {
  /** Omitted for the usage chunk, whose `choices` is empty. */
  delta?: ChunkDelta;
  finishReason?: FinishReason | null;
  usage?: OpenaiUsage;
}

/** Every chunk this translator emits: one choice (index 0), or none for the usage chunk. */
export function createChunk(ctx: TranslateContext, fields: ChunkFields): ChatCompletionChunk {
  const choices = fields.delta === undefined ? [] : [chunkChoice(0, fields.delta, fields.finishReason ?? null)];
  return chatChunk(ctx, choices, fields.usage ?? null);
}

export function createAnthropicStreamTranslator(ctx: TranslateContext): StreamTranslator {
  let started = false;
  let usage: AnthropicUsage | null = null;
  /** Anthropic block index -> OpenAI tool call index. */
  const toolIndex = new Map<number, number>();
  /** Anthropic block indexes of tool calls whose arguments have not started yet. */
  const noArguments = new Set<number>();
  /** Anthropic block index -> the thinking block being streamed there. */
  const thinking = new Map<number, { text: string; signature: string }>();

  const out = (fields: ChunkFields): SseOut => ({ data: createChunk(ctx, fields) });

  /** The role chunk comes first even if a stream were to skip message_start. */
  const withStart = (events: SseOut[]): SseOut[] => {
    if (started) return events;
    started = true;
    return [out({ delta: { role: 'assistant', content: '' } }), ...events];
  };

  function translate(ev: StreamEvent): SseOut[] {
    switch (ev.type) {
      case 'message_start':
        usage = ev.message.usage;
        return withStart([]);
      case 'content_block_start': {
        const block = ev.content_block;
        if (block.type === 'tool_use') {
          const index = toolIndex.size;
          toolIndex.set(ev.index, index);
          noArguments.add(ev.index);
          const call = { index, id: block.id, type: 'function' as const, function: { name: block.name, arguments: '' } };
          return withStart([out({ delta: { tool_calls: [call] } })]);
        }
        if (block.type === 'text' && block.text !== '') return withStart([out({ delta: { content: block.text } })]);
        if (block.type === 'thinking') {
          thinking.set(ev.index, { text: block.thinking, signature: block.signature ?? '' });
          if (block.thinking !== '') return withStart([out({ delta: { reasoning_content: block.thinking } })]);
        }
        if (block.type === 'redacted_thinking') {
          return withStart([out({ delta: { thinking_blocks: [{ type: 'redacted_thinking', data: block.data }] } })]);
        }
        return [];
      }
      case 'content_block_delta': {
        const d = ev.delta;
        if (d.type === 'text_delta') return withStart([out({ delta: { content: d.text } })]);
        if (d.type === 'thinking_delta') {
          const block = thinking.get(ev.index);
          if (block) block.text += d.thinking;
          return withStart([out({ delta: { reasoning_content: d.thinking } })]);
        }
        if (d.type === 'signature_delta') {
          const block = thinking.get(ev.index);
          if (block) block.signature += d.signature;
          return [];
        }
        if (d.type === 'input_json_delta') {
          const index = toolIndex.get(ev.index);
          // Only client tool_use blocks are tool calls; an empty first fragment carries nothing.
          if (index === undefined || d.partial_json === '') return [];
          noArguments.delete(ev.index);
          return withStart([out({ delta: { tool_calls: [{ index, function: { arguments: d.partial_json } }] } })]);
        }
        return []; // citations_delta: no OpenAI equivalent
      }
      case 'message_delta':
        usage = mergeDeltaUsage(usage, ev.usage);
        return withStart([out({ delta: {}, finishReason: toFinishReason(ev.delta.stop_reason) })]);
      case 'message_stop':
        if (!ctx.includeUsage || usage === null) return [];
        return [out({ usage: toOpenaiUsage(usage) })];
      case 'error':
        return [{ data: { error: mapAnthropicError(ev.error) } }];
      case 'content_block_stop': {
        if (noArguments.delete(ev.index)) {
          // A tool without parameters streams only an empty fragment; OpenAI clients parse the
          // arguments as JSON, so they get "{}" as OpenAI (and the non-streamed answer) gives it.
          const index = toolIndex.get(ev.index)!;
          return withStart([out({ delta: { tool_calls: [{ index, function: { arguments: '{}' } }] } })]);
        }
        const block = thinking.get(ev.index);
        if (!block) return [];
        thinking.delete(ev.index);
        return withStart([out({ delta: { thinking_blocks: [{ type: 'thinking', thinking: block.text, signature: block.signature }] } })]);
      }
      case 'ping':
        return [];
    }
  }

  return {
    push(event: SseEvent): SseOut[] {
      const ev = parseStreamEvent(event);
      return ev === null ? [] : translate(ev);
    },
    // A stream cut before message_stop gets nothing invented here; the gateway handles cut streams.
    finish(): SseOut[] {
      return [];
    },
  };
}
