/**
 * Gemini `streamGenerateContent?alt=sse` events -> OpenAI `chat.completion.chunk` objects.
 * Each SSE data is a whole GenerateContentResponse holding the next slice of each candidate
 * (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent); usageMetadata
 * rides on the chunks and the last one is final. Function calls arrive complete, never in pieces,
 * so each becomes one complete tool_calls delta.
 */
import { chatChunk, chunkChoice, type FinishReason } from '../openai/chat-response.ts';
import type { SseEvent, SseOut, StreamTranslator, TranslateContext } from '../types.ts';
import { geminiErrorToInfo } from './errors.ts';
import { mapFinishReason, textOfParts, toOpenaiUsage, toToolCall, toolCallIds, type OpenaiToolCall } from './response.ts';
import { GeminiResponseSchema, type GeminiUsage } from './types.ts';

interface ChunkDelta {
  role?: 'assistant';
  content?: string;
  tool_calls?: Array<OpenaiToolCall & { index: number }>;
}

interface ChoiceState {
  started: boolean;
  toolCalls: number;
  finished: boolean;
}

export function createGeminiStreamTranslator(ctx: TranslateContext): StreamTranslator {
  const nextId = toolCallIds(ctx);
  const choices = new Map<number, ChoiceState>();
  let usage: GeminiUsage | undefined;
  /** An error event was sent: nothing may follow it. */
  let failed = false;
  const error = (e: unknown): SseOut[] => {
    failed = true;
    return [{ data: { error: e } }];
  };

  /** One choice per chunk; chatChunk adds `usage: null` when the client asked for usage. */
  const chunk = (index: number, d: ChunkDelta, finishReason: FinishReason | null = null): SseOut => ({
    data: chatChunk(ctx, [chunkChoice(index, d, finishReason)]),
  });

  function state(index: number): ChoiceState {
    let s = choices.get(index);
    if (!s) choices.set(index, (s = { started: false, toolCalls: 0, finished: false }));
    return s;
  }

  /** The first delta of each choice carries the role, as OpenAI's first chunk does. */
  function delta(s: ChoiceState, d: ChunkDelta): ChunkDelta {
    if (s.started) return d;
    s.started = true;
    return { role: 'assistant', ...d };
  }

  return {
    push(event: SseEvent): SseOut[] {
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        return error({ message: 'Malformed event in the Gemini stream', type: 'api_error', code: null, param: null });
      }
      if (json !== null && typeof json === 'object' && 'error' in json) {
        return error(geminiErrorToInfo(500, json));
      }
      const parsed = GeminiResponseSchema.safeParse(json);
      if (!parsed.success) {
        return error({ message: 'Unexpected event in the Gemini stream', type: 'api_error', code: null, param: null });
      }
      const res = parsed.data;
      if (res.usageMetadata) usage = res.usageMetadata;

      const out: SseOut[] = [];
      const candidates = res.candidates ?? [];
      if (candidates.length === 0 && res.promptFeedback?.blockReason) {
        const s = state(0);
        s.finished = true;
        out.push(chunk(0, delta(s, {}), 'content_filter'));
        return out;
      }
      candidates.forEach((c, i) => {
        const index = c.index ?? i;
        const s = state(index);
        const parts = c.content?.parts ?? [];
        const d: ChunkDelta = {};
        const text = textOfParts(parts);
        if (text !== undefined && text.length > 0) d.content = text;
        for (const p of parts) {
          const call = toToolCall(p, nextId);
          if (call) (d.tool_calls ??= []).push({ index: s.toolCalls++, ...call });
        }
        if (d.content !== undefined || d.tool_calls) {
          out.push(chunk(index, delta(s, d)));
        }
        if (c.finishReason && !s.finished) {
          s.finished = true;
          const reason = mapFinishReason(c.finishReason, s.toolCalls > 0);
          out.push(chunk(index, delta(s, {}), reason));
        }
      });
      return out;
    },

    /**
     * The usage chunk, once every choice finished: the chunks before the last carry the prompt's
     * count only, so a stream that failed or stopped short has no usage of its own to report (the
     * gateway then estimates what was streamed), and nothing follows an error event.
     */
    finish(): SseOut[] {
      if (!ctx.includeUsage || !usage || failed) return [];
      if (choices.size === 0 || [...choices.values()].some((s) => !s.finished)) return [];
      return [{ data: chatChunk(ctx, [], toOpenaiUsage(usage)) }];
    },
  };
}
