/**
 * The part of the OpenAI Chat Completions wire format this provider reads and writes.
 * Input (the client's body) is narrowed with zod; output shapes follow the openai v6 SDK's
 * `ChatCompletion` / `ChatCompletionChunk` / `CompletionUsage` (resources/chat/completions).
 * Reference: https://platform.openai.com/docs/api-reference/chat/create
 */
import { z } from 'zod';

/** LiteLLM's convention for prompt caching from the OpenAI surface: `cache_control` on a content part. */
const cacheControl = z.object({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() }).optional();

export const TextPartSchema = z.object({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });

export const ContentPartSchema = z.discriminatedUnion('type', [
  TextPartSchema,
  z.object({
    type: z.literal('image_url'),
    image_url: z.object({ url: z.string(), detail: z.string().optional() }),
    cache_control: cacheControl,
  }),
  z.object({
    type: z.literal('file'),
    file: z.object({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
    cache_control: cacheControl,
  }),
  z.object({ type: z.literal('input_audio') }),
  z.object({ type: z.literal('refusal'), refusal: z.string() }),
]);

const textContent = z.union([z.string(), z.array(TextPartSchema)]);

export const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

/**
 * Message fields not listed (e.g. `name`, which Anthropic has no equivalent for and which does not
 * change the answer) are stripped. Legacy `function_call` and `audio` are listed so they can be refused.
 */
export const ChatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textContent }),
  z.object({ role: z.literal('developer'), content: textContent }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(ContentPartSchema)]) }),
  z.object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(ContentPartSchema)]).nullish(),
    tool_calls: z.array(ToolCallSchema).nullish(),
    function_call: z.unknown().optional(),
    audio: z.unknown().optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: textContent }),
  z.object({ role: z.literal('function') }),
]);

export const FunctionToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string(),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

export const ReasoningEffortSchema = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']);

/** Every top-level key is listed; request.ts refuses keys outside this object (no silent drop). */
export const ChatBodySchema = z.object({
  model: z.string().optional(),
  messages: z.array(ChatMessageSchema).min(1),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullish(),
  reasoning_effort: ReasoningEffortSchema.nullish(),
  n: z.number().int().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  seed: z.number().int().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  service_tier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  modalities: z.array(z.string()).nullish(),
  /** Anthropic-only extras a client may send through the OpenAI SDK's extra_body. */
  top_k: z.number().int().nullish(),
  thinking: z.unknown().optional(),
});

export const CHAT_BODY_KEYS: ReadonlySet<string> = new Set(Object.keys(ChatBodySchema.shape));

export type ContentPart = z.infer<typeof ContentPartSchema>;
export type TextPart = z.infer<typeof TextPartSchema>;
export type ChatMessage = z.infer<typeof ChatMessageSchema>;
export type ChatBody = z.infer<typeof ChatBodySchema>;
export type FunctionTool = z.infer<typeof FunctionToolSchema>;
export type ToolCall = z.infer<typeof ToolCallSchema>;

// ---------- output (openai v6 SDK shapes) ----------

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * CompletionUsage plus `cache_creation_input_tokens` (Anthropic's name, which LiteLLM also uses)
 * so cache writes can be priced; `prompt_tokens` includes cache reads and writes.
 */
export interface OpenaiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  cache_creation_input_tokens: number;
}

export interface OpenaiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: {
      role: 'assistant';
      content: string | null;
      /** Anthropic thinking text; the field name DeepSeek, vLLM and LiteLLM use. Absent without thinking. */
      reasoning_content?: string;
      tool_calls?: OpenaiToolCall[];
      refusal: null;
    };
    logprobs: null;
    finish_reason: FinishReason;
  }>;
  usage: OpenaiUsage;
}

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
  tool_calls?: ChunkToolCallDelta[];
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: 0; delta: ChunkDelta; logprobs: null; finish_reason: FinishReason | null }>;
  usage?: OpenaiUsage | null;
}
