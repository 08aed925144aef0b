/**
 * Anthropic Messages API wire types, as zod schemas (the single source of the TS types).
 * Checked against @anthropic-ai/sdk 0.65 `resources/messages/messages.d.ts` and `resources/shared.d.ts`.
 * Reference: https://docs.anthropic.com/en/api/messages and
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 *
 * Upstream bodies are parsed with these schemas: unknown *fields* are stripped (we never read them),
 * unknown *block and delta types* are read as `{ type: 'unknown', original }` and unknown *event types*
 * are skipped, as Anthropic asks ("your code should handle unknown event types gracefully").
 */
import { z } from 'zod';

// ---------- request (what toAnthropic builds) ----------

export const CacheControlSchema = z.object({
  type: z.literal('ephemeral'),
  ttl: z.enum(['5m', '1h']).optional(),
});

export const TextBlockParamSchema = z.object({
  type: z.literal('text'),
  text: z.string(),
  cache_control: CacheControlSchema.optional(),
});

export const ImageSourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
  z.object({ type: z.literal('url'), url: z.string() }),
]);

export const ImageBlockParamSchema = z.object({
  type: z.literal('image'),
  source: ImageSourceSchema,
  cache_control: CacheControlSchema.optional(),
});

/** PDF input (from OpenAI `file` parts carrying a data URL). */
export const DocumentBlockParamSchema = z.object({
  type: z.literal('document'),
  source: z.object({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: z.string() }),
  title: z.string().optional(),
  cache_control: CacheControlSchema.optional(),
});

export const ToolUseBlockParamSchema = z.object({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
});

export const ToolResultBlockParamSchema = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.union([TextBlockParamSchema, ImageBlockParamSchema]))]),
});

/**
 * Thinking from an earlier assistant turn, sent back unchanged: with thinking on, the assistant turn
 * of the tool-use loop under way must start with its thinking, whose signature Anthropic verifies
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks).
 */
export const ThinkingBlockParamSchema = z.object({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() });
export const RedactedThinkingBlockParamSchema = z.object({ type: z.literal('redacted_thinking'), data: z.string() });

export const ContentBlockParamSchema = z.discriminatedUnion('type', [
  TextBlockParamSchema,
  ThinkingBlockParamSchema,
  RedactedThinkingBlockParamSchema,
  ImageBlockParamSchema,
  DocumentBlockParamSchema,
  ToolUseBlockParamSchema,
  ToolResultBlockParamSchema,
]);

export const MessageParamSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(ContentBlockParamSchema)]),
});

export const ToolSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal('object') }),
  cache_control: CacheControlSchema.optional(),
});

export const ToolChoiceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
  // ToolChoiceNone has no disable_parallel_tool_use in the SDK types.
  z.object({ type: z.literal('none') }),
]);

export const ThinkingConfigSchema = z.discriminatedUnion('type', [
  /** budget_tokens must be >= 1024 and < max_tokens (SDK ThinkingConfigEnabled docs). */
  z.object({ type: z.literal('enabled'), budget_tokens: z.number().int() }),
  z.object({ type: z.literal('disabled') }),
]);

export const AnthropicRequestSchema = z.object({
  model: z.string(),
  max_tokens: z.number().int(),
  messages: z.array(MessageParamSchema),
  system: z.union([z.string(), z.array(TextBlockParamSchema)]).optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().optional(),
  metadata: z.object({ user_id: z.string() }).optional(),
  tools: z.array(ToolSchema).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  thinking: ThinkingConfigSchema.optional(),
  stream: z.boolean().optional(),
});

export type CacheControl = z.infer<typeof CacheControlSchema>;
export type TextBlockParam = z.infer<typeof TextBlockParamSchema>;
export type ImageBlockParam = z.infer<typeof ImageBlockParamSchema>;
export type DocumentBlockParam = z.infer<typeof DocumentBlockParamSchema>;
export type ToolUseBlockParam = z.infer<typeof ToolUseBlockParamSchema>;
export type ThinkingBlockParam = z.infer<typeof ThinkingBlockParamSchema>;
export type RedactedThinkingBlockParam = z.infer<typeof RedactedThinkingBlockParamSchema>;
export type ToolResultBlockParam = z.infer<typeof ToolResultBlockParamSchema>;
export type ContentBlockParam = z.infer<typeof ContentBlockParamSchema>;
export type MessageParam = z.infer<typeof MessageParamSchema>;
export type AnthropicTool = z.infer<typeof ToolSchema>;
export type AnthropicToolChoice = z.infer<typeof ToolChoiceSchema>;
export type ThinkingConfig = z.infer<typeof ThinkingConfigSchema>;
export type AnthropicRequest = z.infer<typeof AnthropicRequestSchema>;

// ---------- response ----------

const count = z.number().int().nonnegative();

/**
 * `CacheCreation`: cache_creation_input_tokens split by the cache's lifetime, which sets the write's
 * price (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#1-hour-cache-duration).
 * A breakdown that cannot be read is dropped (`catch`), not the whole usage: every write then
 * prices as a 5-minute one, as before the breakdown existed.
 */
export const CacheCreationSchema = z
  .object({ ephemeral_5m_input_tokens: count.nullish(), ephemeral_1h_input_tokens: count.nullish() })
  .nullish()
  .catch(null);

/** `Usage` on a Message (and on message_start). Cache fields are null/absent when caching is unused. */
export const AnthropicUsageSchema = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count.nullish(),
  cache_read_input_tokens: count.nullish(),
  cache_creation: CacheCreationSchema,
});

/**
 * `MessageDeltaUsage`: output_tokens is cumulative; the input fields are null unless updated. The SDK
 * types have no `cache_creation` here; read it anyway should a delta ever carry it.
 */
export const MessageDeltaUsageSchema = z.object({
  output_tokens: count,
  input_tokens: count.nullish(),
  cache_creation_input_tokens: count.nullish(),
  cache_read_input_tokens: count.nullish(),
  cache_creation: CacheCreationSchema,
});

export const StopReasonSchema = z.string(); // known values in response.ts; new ones must not break parsing

export const TextBlockSchema = z.object({ type: z.literal('text'), text: z.string() });
export const ThinkingBlockSchema = z.object({
  type: z.literal('thinking'),
  thinking: z.string(),
  signature: z.string().optional(),
});
export const RedactedThinkingBlockSchema = z.object({ type: z.literal('redacted_thinking'), data: z.string() });
export const ToolUseBlockSchema = z.object({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
});

const KNOWN_BLOCK_TYPES: ReadonlySet<string> = new Set(['text', 'thinking', 'redacted_thinking', 'tool_use']);

/**
 * Block types we do not translate (server_tool_use, web_search_tool_result, future ones), read as
 * `{ type: 'unknown', original }` so the union stays discriminated. A malformed *known* block fails.
 */
export const OtherBlockSchema = z
  .object({ type: z.string().refine((t) => !KNOWN_BLOCK_TYPES.has(t), 'malformed known content block') })
  .transform((b) => ({ type: 'unknown' as const, original: b.type }));

export const ContentBlockSchema = z.union([
  z.discriminatedUnion('type', [TextBlockSchema, ThinkingBlockSchema, RedactedThinkingBlockSchema, ToolUseBlockSchema]),
  OtherBlockSchema,
]);

export const AnthropicResponseSchema = z.object({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  model: z.string(),
  content: z.array(ContentBlockSchema),
  stop_reason: StopReasonSchema.nullable(),
  stop_sequence: z.string().nullish(),
  usage: AnthropicUsageSchema,
});

export type AnthropicUsage = z.infer<typeof AnthropicUsageSchema>;
export type MessageDeltaUsage = z.infer<typeof MessageDeltaUsageSchema>;
export type ContentBlock = z.infer<typeof ContentBlockSchema>;
export type AnthropicResponse = z.infer<typeof AnthropicResponseSchema>;

// ---------- errors ----------

/** `ErrorResponse` in the SDK's shared.d.ts; also the `data` of a stream `error` event. */
export const AnthropicErrorBodySchema = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string() }),
  request_id: z.string().nullish(),
});
export type AnthropicErrorBody = z.infer<typeof AnthropicErrorBodySchema>;

// ---------- stream events ----------

export const MessageStartEventSchema = z.object({
  type: z.literal('message_start'),
  message: z.object({ id: z.string(), model: z.string(), usage: AnthropicUsageSchema }),
});

export const ContentBlockStartEventSchema = z.object({
  type: z.literal('content_block_start'),
  index: count,
  content_block: ContentBlockSchema,
});

const KNOWN_DELTA_TYPES: ReadonlySet<string> = new Set(['text_delta', 'input_json_delta', 'thinking_delta', 'signature_delta']);

export const BlockDeltaSchema = z.union([
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('text_delta'), text: z.string() }),
    z.object({ type: z.literal('input_json_delta'), partial_json: z.string() }),
    z.object({ type: z.literal('thinking_delta'), thinking: z.string() }),
    z.object({ type: z.literal('signature_delta'), signature: z.string() }),
  ]),
  // citations_delta and future delta types: nothing to translate.
  z
    .object({ type: z.string().refine((t) => !KNOWN_DELTA_TYPES.has(t), 'malformed known delta') })
    .transform((d) => ({ type: 'unknown' as const, original: d.type })),
]);

export const ContentBlockDeltaEventSchema = z.object({
  type: z.literal('content_block_delta'),
  index: count,
  delta: BlockDeltaSchema,
});

export const ContentBlockStopEventSchema = z.object({ type: z.literal('content_block_stop'), index: count });

export const MessageDeltaEventSchema = z.object({
  type: z.literal('message_delta'),
  delta: z.object({ stop_reason: StopReasonSchema.nullish(), stop_sequence: z.string().nullish() }),
  usage: MessageDeltaUsageSchema,
});

export const MessageStopEventSchema = z.object({ type: z.literal('message_stop') });
export const PingEventSchema = z.object({ type: z.literal('ping') });
export const ErrorEventSchema = AnthropicErrorBodySchema;

export const StreamEventSchema = z.discriminatedUnion('type', [
  MessageStartEventSchema,
  ContentBlockStartEventSchema,
  ContentBlockDeltaEventSchema,
  ContentBlockStopEventSchema,
  MessageDeltaEventSchema,
  MessageStopEventSchema,
  PingEventSchema,
  ErrorEventSchema,
]);

/** Every stream event type this module knows; anything else is skipped (see file comment). */
export const STREAM_EVENT_TYPES: ReadonlySet<string> = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
  'error',
]);

export type StreamEvent = z.infer<typeof StreamEventSchema>;
export type MessageStartEvent = z.infer<typeof MessageStartEventSchema>;
export type MessageDeltaEvent = z.infer<typeof MessageDeltaEventSchema>;
