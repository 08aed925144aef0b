/**
 * The part of the OpenAI Chat Completions and Embeddings request bodies the Gemini translation
 * reads, narrowed with zod. Every top-level key a client may send is listed so request.ts can
 * refuse the rest by name instead of dropping them.
 * Reference: https://platform.openai.com/docs/api-reference/chat/create
 */
import { z } from 'zod';
import { TranslationError } from '../types.ts';

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });

export const UserPartSchema = z.discriminatedUnion('type', [
  TextPartSchema,
  z.object({
    type: z.literal('image_url'),
    image_url: z.object({ url: z.string(), detail: z.string().optional() }),
  }),
  z.object({
    type: z.literal('input_audio'),
    input_audio: z.object({ data: z.string(), format: z.enum(['wav', 'mp3']) }),
  }),
  z.object({
    type: z.literal('file'),
    file: z.object({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
  }),
]);

const textContent = z.union([z.string(), z.array(TextPartSchema)]);

export const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
  /** Where Google's own OpenAI endpoint carries Gemini 3 thought signatures; we do the same. */
  extra_content: z
    .object({ google: z.object({ thought_signature: z.string().optional() }).loose().optional() })
    .loose()
    .optional(),
});

/**
 * `name` is stripped: Gemini has no per-participant names, and the Anthropic translation makes the
 * same choice. Assistant messages echoed back from a previous response carry output-only fields
 * (`annotations`, `refusal: null`, `audio: null`), which are tolerated when empty.
 */
export const MessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textContent }),
  z.object({ role: z.literal('developer'), content: textContent }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(UserPartSchema)]) }),
  z.object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(z.union([TextPartSchema, z.object({ type: z.literal('refusal'), refusal: z.string() })]))]).nullish(),
    tool_calls: z.array(ToolCallSchema).nullish(),
    refusal: z.string().nullish(),
    function_call: z.null().optional(),
    audio: z.null().optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: textContent }),
]);

export const FunctionToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string(),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    /** Gemini has no strict flag; declarations are always schema-guided, so `strict` is accepted. */
    strict: z.boolean().nullish(),
  }),
});

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
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
  model: z.string().optional(),
  messages: z.array(MessageSchema).min(1),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  n: z.number().int().positive().nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  tools: z.array(FunctionToolSchema).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: ResponseFormatSchema.nullish(),
  reasoning_effort: z.string().nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  prompt_cache_key: z.string().nullish(),
  service_tier: z.string().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  modalities: z.array(z.string()).nullish(),
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
  for (const key of Object.keys(body)) {
    if (!(key in schema.shape)) throw new TranslationError(`'${key}' is not supported by the Gemini API`, key);
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue ? formatPath(issue.path) : null;
  throw new TranslationError(`Invalid request for Gemini: ${issue?.message ?? 'malformed body'}${param ? ` at ${param}` : ''}`, param);
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out;
}
