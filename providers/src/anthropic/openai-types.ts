/**
 * The part of the OpenAI Chat Completions wire format this provider reads and writes, composed from
 * the shared pieces in ../openai/chat-request.ts and ../openai/chat-response.ts. What is Anthropic's
 * own stays here: `cache_control` on parts, the fields listed only to be refused, the extra_body
 * parameters, `reasoning_content` and `cache_creation_input_tokens` in the output.
 * Reference: https://platform.openai.com/docs/api-reference/chat/create
 */
import { z } from 'zod';
import {
  ChatParamsSchema,
  FilePartSchema,
  ImageUrlPartSchema,
  RefusalPartSchema,
  TextPartSchema as OpenaiTextPartSchema,
  ToolCallSchema,
  textRoleMessages,
  type ToolCall,
} from '../openai/chat-request.ts';
import type {
  ChatCompletion as OpenaiChatCompletion,
  ChatCompletionChunk as OpenaiChatCompletionChunk,
  OpenaiToolCall,
  OpenaiUsageBase,
} from '../openai/chat-response.ts';
import { CacheControlSchema, RedactedThinkingBlockParamSchema, ThinkingBlockParamSchema } from './types.ts';

/** LiteLLM's convention for prompt caching from the OpenAI surface: `cache_control` on a content part. */
const cacheControl = CacheControlSchema.optional();

export const TextPartSchema = OpenaiTextPartSchema.extend({ cache_control: cacheControl });

/** input_audio and refusal parts are listed without their fields so request-messages.ts can refuse them by name. */
export const ContentPartSchema = z.discriminatedUnion('type', [
  TextPartSchema,
  ImageUrlPartSchema.extend({ cache_control: cacheControl }),
  FilePartSchema.extend({ cache_control: cacheControl }),
  z.object({ type: z.literal('input_audio') }),
  RefusalPartSchema,
]);

const text = textRoleMessages(TextPartSchema);

/**
 * Anthropic thinking blocks on an assistant message, the field LiteLLM uses: answers carry them
 * (with their signatures) and a client that appends the answer's message to its history sends them
 * back, which Anthropic requires for tool use with thinking on.
 */
export const ThinkingBlocksSchema = z.array(z.discriminatedUnion('type', [ThinkingBlockParamSchema, RedactedThinkingBlockParamSchema]));
export type ThinkingBlock = z.infer<typeof ThinkingBlocksSchema>[number];

/**
 * Legacy `function_call` and `audio` and the legacy `function` role are listed so they can be
 * refused by name; other unlisted message fields (e.g. `name`) are stripped.
 */
export const ChatMessageSchema = z.discriminatedUnion('role', [
  text.system,
  text.developer,
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(ContentPartSchema)]) }),
  z.object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(ContentPartSchema)]).nullish(),
    tool_calls: z.array(ToolCallSchema).nullish(),
    thinking_blocks: ThinkingBlocksSchema.nullish(),
    function_call: z.unknown().optional(),
    audio: z.unknown().optional(),
  }),
  text.tool,
  z.object({ role: z.literal('function') }),
]);

export const ReasoningEffortSchema = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']);

/**
 * Every top-level key is listed; request.ts refuses keys outside this object (no silent drop).
 * `tools` and `tool_choice` are checked item by item in request.ts, so a bad tool is named by index.
 */
export const ChatBodySchema = z.object({
  messages: z.array(ChatMessageSchema).min(1),
  ...ChatParamsSchema.shape,
  n: z.number().int().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.unknown().optional(),
  reasoning_effort: ReasoningEffortSchema.nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  /** Anthropic-only extras a client may send through the OpenAI SDK's extra_body. */
  top_k: z.number().int().nullish(),
  thinking: z.unknown().optional(),
});

export type ContentPart = z.infer<typeof ContentPartSchema>;
export type TextPart = z.infer<typeof TextPartSchema>;
export type ChatMessage = z.infer<typeof ChatMessageSchema>;
export type ChatBody = z.infer<typeof ChatBodySchema>;
export type { ToolCall };

// ---------- output (openai v6 SDK shapes) ----------

export type { FinishReason, OpenaiToolCall } from '../openai/chat-response.ts';

/**
 * CompletionUsage plus `cache_creation_input_tokens` (Anthropic's name, which LiteLLM also uses)
 * so cache writes can be priced; `prompt_tokens` includes cache reads and writes. `cache_creation`
 * (Anthropic's name too) splits the writes by cache lifetime, whose prices differ; present when
 * there are writes.
 */
export interface OpenaiUsage extends OpenaiUsageBase {
  cache_creation_input_tokens: number;
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  /** Anthropic thinking text; the field name DeepSeek, vLLM and LiteLLM use. Absent without thinking. */
  reasoning_content?: string;
  /** The thinking blocks themselves, signatures included, to send back (see ThinkingBlocksSchema). */
  thinking_blocks?: ThinkingBlock[];
  tool_calls?: OpenaiToolCall[];
  refusal: null;
}

export type ChatCompletion = OpenaiChatCompletion<AssistantMessage, OpenaiUsage>;

export interface ChunkToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  /** A whole thinking block (text and signature), sent once the block has ended. */
  thinking_blocks?: ThinkingBlock[];
  tool_calls?: ChunkToolCallDelta[];
}

export type ChatCompletionChunk = OpenaiChatCompletionChunk<ChunkDelta, OpenaiUsage>;
