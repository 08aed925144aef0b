/**
 * OpenAI request bodies -> Gemini request bodies (pure).
 * References: https://ai.google.dev/api/generate-content#generationconfig,
 * https://ai.google.dev/gemini-api/docs/function-calling, https://ai.google.dev/api/embeddings
 */
import { TranslationError } from '../types.ts';
import { toGeminiMessages } from './messages.ts';
import { ChatBodySchema, EmbeddingsBodySchema, parseBody, type ChatBody } from './openai-input.ts';
import type { GeminiEmbedRequest, GeminiGenerationConfig, GeminiRequest } from './types.ts';

/**
 * reasoning_effort -> thinkingBudget, the mapping Google's own OpenAI endpoint documents
 * (https://ai.google.dev/gemini-api/docs/openai#thinking). Other efforts have no Gemini equivalent.
 */
const THINKING_BUDGET: Readonly<Record<string, number>> = { none: 0, low: 1024, medium: 8192, high: 24576 };

export function toGeminiChat(body: Record<string, unknown>): GeminiRequest {
  const b = parseBody(ChatBodySchema, body);
  refuseUnsupported(b);
  const req: GeminiRequest = toGeminiMessages(b.messages);

  if (b.tools && b.tools.length > 0) {
    req.tools = [
      {
        // parametersJsonSchema takes full JSON Schema; `parameters` (an OpenAPI subset) rejects
        // keywords OpenAI schemas routinely carry, e.g. additionalProperties: false.
        functionDeclarations: b.tools.map(({ function: f }) => ({
          name: f.name,
          ...(f.description !== undefined && { description: f.description }),
          ...(f.parameters !== undefined && { parametersJsonSchema: f.parameters }),
        })),
      },
    ];
  }
  const toolConfig = toToolConfig(b);
  if (toolConfig) req.toolConfig = toolConfig;

  const config = toGenerationConfig(b);
  if (Object.keys(config).length > 0) req.generationConfig = config;
  return req;
}

function toToolConfig(b: ChatBody): GeminiRequest['toolConfig'] {
  const choice = b.tool_choice;
  if (choice == null) return undefined;
  const names = new Set(b.tools?.map((t) => t.function.name));
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (names.size === 0) throw new TranslationError('tool_choice requires tools', 'tool_choice');
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (!names.has(choice.function.name)) {
    throw new TranslationError(`tool_choice names '${choice.function.name}', which is not in tools`, 'tool_choice');
  }
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
}

function toGenerationConfig(b: ChatBody): GeminiGenerationConfig {
  const c: GeminiGenerationConfig = {};
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  if (maxTokens != null) c.maxOutputTokens = maxTokens;
  if (b.temperature != null) c.temperature = b.temperature;
  if (b.top_p != null) c.topP = b.top_p;
  if (b.stop != null) c.stopSequences = typeof b.stop === 'string' ? [b.stop] : b.stop;
  if (b.n != null) c.candidateCount = b.n;
  if (b.seed != null) c.seed = b.seed;
  if (b.presence_penalty != null) c.presencePenalty = b.presence_penalty;
  if (b.frequency_penalty != null) c.frequencyPenalty = b.frequency_penalty;
  const format = b.response_format;
  if (format && format.type !== 'text') {
    c.responseMimeType = 'application/json';
    // responseJsonSchema (full JSON Schema) rather than responseSchema (OpenAPI subset): strict
    // OpenAI schemas always carry additionalProperties: false, which responseSchema rejects.
    if (format.type === 'json_schema' && format.json_schema.schema) c.responseJsonSchema = format.json_schema.schema;
  }
  if (b.reasoning_effort != null) {
    const budget = THINKING_BUDGET[b.reasoning_effort];
    if (budget === undefined) {
      throw new TranslationError(`reasoning_effort '${b.reasoning_effort}' has no Gemini equivalent (none, low, medium, high)`, 'reasoning_effort');
    }
    c.thinkingConfig = { thinkingBudget: budget };
  }
  return c;
}

/**
 * Fields Gemini cannot honour. Accepted without effect (documented here, not dropped by accident):
 * `model` and `stream` (they select the URL), `stream_options` (usage always arrives; the stream
 * translator honours include_usage), `user`/`safety_identifier`/`store`/`metadata`/
 * `prompt_cache_key` (OpenAI-side bookkeeping that does not change the answer).
 */
function refuseUnsupported(b: ChatBody): void {
  if (b.parallel_tool_calls === false) {
    throw new TranslationError('Gemini cannot be limited to one tool call per turn', 'parallel_tool_calls');
  }
  if (b.logprobs) throw new TranslationError('logprobs are not supported for Gemini', 'logprobs');
  if (b.top_logprobs) throw new TranslationError('top_logprobs are not supported for Gemini', 'top_logprobs');
  if (b.logit_bias && Object.keys(b.logit_bias).length > 0) {
    throw new TranslationError('logit_bias is not supported for Gemini', 'logit_bias');
  }
  if (b.modalities && b.modalities.some((m) => m !== 'text')) {
    throw new TranslationError('Only text output is supported for Gemini', 'modalities');
  }
  if (b.service_tier != null && b.service_tier !== 'auto' && b.service_tier !== 'default') {
    throw new TranslationError(`service_tier '${b.service_tier}' is not supported for Gemini`, 'service_tier');
  }
}

/** batchEmbedContents takes at most this many requests ("at most 100 requests can be in one batch"). */
export const GEMINI_MAX_EMBED_INPUTS = 100;

/** OpenAI embeddings body -> batchEmbedContents (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents). */
export function toGeminiEmbed(body: Record<string, unknown>, model: string): GeminiEmbedRequest {
  const b = parseBody(EmbeddingsBodySchema, body);
  const inputs = typeof b.input === 'string' ? [b.input] : b.input;
  if (inputs.length > GEMINI_MAX_EMBED_INPUTS) {
    // OpenAI takes 2,048 inputs; Gemini refuses the whole batch past 100. Said here, with the way out.
    throw new TranslationError(
      `Gemini embeds at most ${GEMINI_MAX_EMBED_INPUTS} inputs per request (got ${inputs.length}); send them in batches of ${GEMINI_MAX_EMBED_INPUTS} (LangChain: chunk_size=${GEMINI_MAX_EMBED_INPUTS})`,
      'input',
    );
  }
  const texts = inputs.map((item, i) => {
    if (typeof item !== 'string') {
      throw new TranslationError('Gemini embeds text only; token arrays are not supported', Array.isArray(b.input) ? `input[${i}]` : 'input');
    }
    return item;
  });
  return {
    requests: texts.map((text) => ({
      model: modelResource(model),
      content: { parts: [{ text }] },
      ...(b.dimensions != null && { outputDimensionality: b.dimensions }),
    })),
  };
}

/** `gemini-2.5-flash` -> `models/gemini-2.5-flash`; already-qualified names (tunedModels/...) stay. */
export function modelResource(model: string): string {
  return model.includes('/') ? model : `models/${model}`;
}
