/**
 * The OpenAI Chat Completions request as the translating providers (anthropic/, gemini/) read it:
 * the zod pieces that mean the same for every provider, and the helpers that turn a parse failure
 * into a TranslationError naming the OpenAI parameter. Each provider composes its own body schema
 * from these, so what it accepts, tolerates or refuses stays written in the provider, not here.
 * Reference: https://platform.openai.com/docs/api-reference/chat/create
 */
import { z } from 'zod';
import { TranslationError } from '../types.ts';

// ---------- content parts ----------

export const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });

export const ImageUrlPartSchema = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string(), detail: z.string().optional() }),
});

export const FilePartSchema = z.object({
  type: z.literal('file'),
  file: z.object({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});

export const RefusalPartSchema = z.object({ type: z.literal('refusal'), refusal: z.string() });

// ---------- messages ----------

export const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

/**
 * The system, developer and tool messages, whose content is a string or text parts. `textPart` is
 * the provider's text part (Anthropic's carries `cache_control`). Fields not listed (`name`) are stripped.
 * A provider lists them in its message union in OpenAI's order (system, developer, user, assistant,
 * tool), which zod's "invalid discriminator" message repeats.
 */
export function textRoleMessages<P extends z.ZodType>(textPart: P) {
  const content = z.union([z.string(), z.array(textPart)]);
  return {
    system: z.object({ role: z.literal('system'), content }),
    developer: z.object({ role: z.literal('developer'), content }),
    tool: z.object({ role: z.literal('tool'), tool_call_id: z.string(), content }),
  };
}

// ---------- tools ----------

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

// ---------- top-level parameters ----------

/**
 * Top-level parameters every translating provider types the same way. A provider's body schema
 * spreads `ChatParamsSchema.shape` and adds `messages`, `n`, `tools`, `tool_choice`,
 * `response_format` and `reasoning_effort` as it accepts them; which values it refuses is decided
 * in its request.ts.
 */
export const ChatParamsSchema = z.object({
  model: z.string().optional(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
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

export type ToolCall = z.infer<typeof ToolCallSchema>;

// ---------- parsing into TranslationErrors ----------

/** The first top-level key of `body` that `schema` does not list, so it can be refused by name (never dropped). */
export function unknownKey(schema: z.ZodObject, body: Record<string, unknown>): string | undefined {
  return Object.keys(body).find((key) => !Object.hasOwn(schema.shape, key));
}

/** An OpenAI parameter path below `base`: ['messages', 2, 'content'] -> `messages[2].content`. */
function paramPath(path: ReadonlyArray<PropertyKey>, base = ''): string {
  let out = base;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out;
}

/**
 * `schema.parse(value)`, except that a failure becomes the error `fail` builds from the first zod
 * issue and its parameter path (below `base`); each provider words its own message.
 */
export function parseParam<T extends z.ZodType>(
  schema: T,
  value: unknown,
  base: string,
  fail: (issue: z.core.$ZodIssue | undefined, param: string) => TranslationError,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw fail(issue, paramPath(issue?.path ?? [], base));
}

/**
 * OpenAI sends tool call arguments as a JSON string (sometimes "" for no arguments); Anthropic's
 * tool_use.input and Gemini's functionCall.args are JSON objects. `at` names the parameter.
 */
export function parseToolArguments(args: string, at: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TranslationError(`Tool call arguments are not valid JSON: ${reason}`, at);
  }
  if (!isPlainObject(parsed)) throw new TranslationError('Tool call arguments must be a JSON object', at);
  return parsed;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
