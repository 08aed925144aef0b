/**
 * The part of the OpenAI Chat Completions and Embeddings request bodies the Gemini translation
 * reads, narrowed with zod. Every top-level key a client may send is listed so request.ts can
 * refuse the rest by name instead of dropping them.
 * Reference: https://platform.openai.com/docs/api-reference/chat/create
 */
import { z } from 'zod';
import {
  ChatParamsSchema,
  FilePartSchema,
  FunctionToolSchema,
  ImageUrlPartSchema,
  RefusalPartSchema,
  TextPartSchema,
  ToolCallSchema as OpenaiToolCallSchema,
  ToolChoiceSchema,
  parseParam,
  textRoleMessages,
  unknownKey,
} from '../openai/chat-request.ts';
import { TranslationError } from '../types.ts';

export const UserPartSchema = z.discriminatedUnion('type', [
  TextPartSchema,
  ImageUrlPartSchema,
  z.object({
    type: z.literal('input_audio'),
    input_audio: z.object({ data: z.string(), format: z.enum(['wav', 'mp3']) }),
  }),
  FilePartSchema,
]);

export const ToolCallSchema = OpenaiToolCallSchema.extend({
  /** Where Google's own OpenAI endpoint carries Gemini 3 thought signatures; we do the same. */
  extra_content: z
    .object({ google: z.object({ thought_signature: z.string().optional() }).loose().optional() })
    .loose()
    .optional(),
});

const text = textRoleMessages(TextPartSchema);

/**
 * `name` is stripped: Gemini has no per-participant names. Assistant messages echoed back from a
 * previous response carry output-only fields (`annotations`, `refusal: null`, `audio: null`), which
 * are tolerated when empty.
 * The legacy `function` role is not listed, so it fails as an invalid `role`.
 */
export const MessageSchema = z.discriminatedUnion('role', [
  text.system,
  text.developer,
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(UserPartSchema)]) }),
  z.object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(z.union([TextPartSchema, RefusalPartSchema]))]).nullish(),
    tool_calls: z.array(ToolCallSchema).nullish(),
    refusal: z.string().nullish(),
    function_call: z.null().optional(),
    audio: z.null().optional(),
  }),
  text.tool,
]);

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const ChatBodySchema = z.object({
  messages: z.array(MessageSchema).min(1),
  ...ChatParamsSchema.shape,
  n: z.number().int().positive().nullish(),
  /** Gemini has no strict flag; declarations are always schema-guided, so `strict` is accepted. */
  tools: z.array(FunctionToolSchema).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  response_format: ResponseFormatSchema.nullish(),
  reasoning_effort: z.string().nullish(),
});

export const EmbeddingsBodySchema = z.object({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number()), z.array(z.array(z.number()))]),
  dimensions: z.number().int().positive().nullish(),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  user: z.string().nullish(),
});

export type ChatBody = z.infer<typeof ChatBodySchema>;
export type ChatMessage = z.infer<typeof MessageSchema>;
export type UserPart = z.infer<typeof UserPartSchema>;
export type EmbeddingsBody = z.infer<typeof EmbeddingsBodySchema>;

/**
 * Parses `body` with `schema`, refusing unknown top-level keys by name and turning the first zod
 * issue into a TranslationError whose param is the OpenAI path (e.g. `messages[2].content`).
 */
export function parseBody<T extends z.ZodObject>(schema: T, body: Record<string, unknown>): z.infer<T> {
  const unknown = unknownKey(schema, body);
  if (unknown !== undefined) throw new TranslationError(`'${unknown}' is not supported by the Gemini API`, unknown);
  return parseParam(schema, body, '', (issue, path) => {
    const param = issue ? path : null;
    return new TranslationError(`Invalid request for Gemini: ${issue?.message ?? 'malformed body'}${param ? ` at ${param}` : ''}`, param);
  });
}
