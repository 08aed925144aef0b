/**
 * Gemini responses -> OpenAI bodies (pure).
 * References: https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse,
 * https://ai.google.dev/api/generate-content#FinishReason, https://ai.google.dev/api/embeddings
 */
import {
  chatChoice,
  chatCompletion,
  openaiUsageBase,
  type FinishReason,
  type OpenaiToolCall as BaseToolCall,
  type OpenaiUsageBase,
} from '../openai/chat-response.ts';
import type { TranslateContext, Usage } from '../types.ts';
import {
  GeminiEmbedResponseSchema,
  GeminiResponseSchema,
  type GeminiCandidate,
  type GeminiResponse,
  type GeminiResponsePart,
  type GeminiUsage,
} from './types.ts';

export type { FinishReason } from '../openai/chat-response.ts';

/** Gemini stops for policy reasons under several names; OpenAI has one. */
const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

export interface OpenaiToolCall extends BaseToolCall {
  /** Gemini 3 thought signature, where Google's own OpenAI endpoint puts it; clients send it back unchanged. */
  extra_content?: { google: { thought_signature: string } };
}

export interface OpenaiUsage extends OpenaiUsageBase {
  completion_tokens_details: { reasoning_tokens: number };
}

/**
 * STOP/MAX_TOKENS/filter reasons map directly; a stop with tool calls is `tool_calls`. Reasons with
 * no OpenAI counterpart (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, unspecified) end as `stop`.
 */
export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason !== undefined && FILTERED.has(reason)) return 'content_filter';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/** Gemini usageMetadata -> the gateway's neutral usage. Thoughts are output tokens, as OpenAI counts reasoning. */
export function toUsage(u: GeminiUsage | undefined): Usage {
  const thoughts = u?.thoughtsTokenCount ?? 0;
  return {
    promptTokens: (u?.promptTokenCount ?? 0) + (u?.toolUsePromptTokenCount ?? 0),
    completionTokens: (u?.candidatesTokenCount ?? 0) + thoughts,
    cachedTokens: u?.cachedContentTokenCount ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
  };
}

export function toOpenaiUsage(u: GeminiUsage | undefined): OpenaiUsage {
  const n = toUsage(u);
  return { ...openaiUsageBase(n), completion_tokens_details: { reasoning_tokens: n.reasoningTokens } };
}

/**
 * Gemini function calls have no ids (or only sometimes): ids are derived from the response id so
 * they are deterministic and still unique across turns (`chatcmpl-abc` -> `call_abc_0`, `call_abc_1`).
 */
export function toolCallIds(ctx: TranslateContext): () => string {
  const base = ctx.id.startsWith('chatcmpl-') ? ctx.id.slice('chatcmpl-'.length) : ctx.id;
  let n = 0;
  return () => `call_${base}_${n++}`;
}

export function toToolCall(part: GeminiResponsePart, nextId: () => string): OpenaiToolCall | undefined {
  const fc = part.functionCall;
  if (!fc) return undefined;
  const call: OpenaiToolCall = {
    id: fc.id ?? nextId(),
    type: 'function',
    function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) },
  };
  if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return call;
}

/** Visible text of a candidate's parts; thought summaries are not answer text. */
export function textOfParts(parts: GeminiResponsePart[] | undefined): string | undefined {
  let text: string | undefined;
  for (const p of parts ?? []) if (p.text !== undefined && !p.thought) text = (text ?? '') + p.text;
  return text;
}

export function parseGeminiResponse(body: unknown): GeminiResponse {
  const parsed = GeminiResponseSchema.safeParse(body);
  if (!parsed.success) throw new Error(`Unexpected Gemini response: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  return parsed.data;
}

export function chatToOpenai(body: unknown, ctx: TranslateContext) {
  const res = parseGeminiResponse(body);
  const nextId = toolCallIds(ctx);
  const candidates = res.candidates ?? [];
  const choices =
    candidates.length > 0
      ? candidates.map((c, i) => toChoice(c, c.index ?? i, nextId))
      : // The prompt itself was blocked (promptFeedback.blockReason): no candidates at all.
        [toChoice({ finishReason: res.promptFeedback?.blockReason ? 'SAFETY' : undefined }, 0, nextId)];
  // No usageMetadata, no usage: zeros would read as "the provider counted nothing" and bill $0.
  return chatCompletion(ctx, choices, res.usageMetadata ? toOpenaiUsage(res.usageMetadata) : undefined);
}

function toChoice(c: GeminiCandidate, index: number, nextId: () => string) {
  const parts = c.content?.parts ?? [];
  const toolCalls = parts.map((p) => toToolCall(p, nextId)).filter((t): t is OpenaiToolCall => t !== undefined);
  const message = {
    role: 'assistant' as const,
    content: textOfParts(parts) ?? null,
    refusal: null,
    ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
  };
  return chatChoice(index, message, mapFinishReason(c.finishReason, toolCalls.length > 0));
}

export type EmbeddingEncoding = 'float' | 'base64';

/**
 * batchEmbedContents returns vectors only, no token counts, so usage is reported as 0 rather than
 * invented; the gateway may estimate tokens itself. `base64` is little-endian float32, as OpenAI
 * encodes it (the openai SDKs request base64 by default and decode it client-side).
 */
export function embeddingsToOpenai(body: unknown, ctx: TranslateContext, encoding: EmbeddingEncoding = 'float') {
  const parsed = GeminiEmbedResponseSchema.safeParse(body);
  if (!parsed.success) throw new Error(`Unexpected Gemini embeddings response: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  return {
    object: 'list' as const,
    data: parsed.data.embeddings.map((e, index) => ({
      object: 'embedding' as const,
      index,
      embedding: encoding === 'base64' ? Buffer.from(new Float32Array(e.values).buffer).toString('base64') : e.values,
    })),
    model: ctx.model,
    usage: { prompt_tokens: 0, total_tokens: 0 },
  };
}
