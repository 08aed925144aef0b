/**
 * OpenAI `chat.completion` and `chat.completion.chunk` bodies as the translating providers build
 * them: the envelope, choice and usage fields every provider fills the same way. What goes in a
 * message, a delta or the usage extras is the provider's (Anthropic adds `reasoning_content` and
 * `cache_creation_input_tokens`, Gemini `extra_content` and `completion_tokens_details`).
 * Shapes follow the openai v6 SDK's ChatCompletion / ChatCompletionChunk / CompletionUsage
 * (resources/chat/completions). Reference: https://platform.openai.com/docs/api-reference/chat/object
 */
import type { TranslateContext, Usage } from '../types.ts';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface OpenaiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The CompletionUsage fields every translation sends; providers add their own extras. */
export interface OpenaiUsageBase {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function openaiUsageBase(u: Usage): OpenaiUsageBase {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}

export interface ChatChoice<M> {
  index: number;
  message: M;
  logprobs: null;
  finish_reason: FinishReason;
}

export interface ChatCompletion<M, U> {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<ChatChoice<M>>;
  usage: U;
}

export function chatChoice<M>(index: number, message: M, finishReason: FinishReason): ChatChoice<M> {
  return { index, message, logprobs: null, finish_reason: finishReason };
}

export function chatCompletion<M, U>(ctx: TranslateContext, choices: Array<ChatChoice<M>>, usage: U): ChatCompletion<M, U> {
  return { id: ctx.id, object: 'chat.completion', created: ctx.created, model: ctx.model, choices, usage };
}

export interface ChunkChoice<D> {
  index: number;
  delta: D;
  logprobs: null;
  finish_reason: FinishReason | null;
}

export interface ChatCompletionChunk<D, U> {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<ChunkChoice<D>>;
  usage?: U | null;
}

export function chunkChoice<D>(index: number, delta: D, finishReason: FinishReason | null = null): ChunkChoice<D> {
  return { index, delta, logprobs: null, finish_reason: finishReason };
}

/**
 * The one builder of every translated chunk. With stream_options.include_usage, OpenAI sends
 * `usage: null` on every chunk but the last, which has `choices: []` and the usage; without it,
 * chunks have no `usage` key at all.
 */
export function chatChunk<D, U>(ctx: TranslateContext, choices: Array<ChunkChoice<D>>, usage: U | null = null): ChatCompletionChunk<D, U> {
  const chunk: ChatCompletionChunk<D, U> = { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model, choices };
  if (ctx.includeUsage) chunk.usage = usage;
  return chunk;
}
