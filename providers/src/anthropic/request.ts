/**
 * OpenAI Chat Completions request -> Anthropic Messages request.
 * Every top-level OpenAI parameter is either mapped, accepted because it cannot change the answer
 * (listed in NO_EFFECT with the reason), or refused with a TranslationError naming it.
 * Reference: https://docs.anthropic.com/en/api/openai-sdk (Anthropic's own list of what carries over).
 */
import type { z } from 'zod';
import { FunctionToolSchema, ToolChoiceSchema as OpenaiToolChoiceSchema, parseParam, unknownKey } from '../openai/chat-request.ts';
import { TranslationError } from '../types.ts';
import { ChatBodySchema, type ChatBody } from './openai-types.ts';
import { mapMessages } from './request-messages.ts';
import {
  ThinkingConfigSchema,
  type AnthropicRequest,
  type MessageParam,
  type AnthropicTool,
  type AnthropicToolChoice,
  type ThinkingConfig,
} from './types.ts';

/**
 * Anthropic requires `max_tokens`; OpenAI does not. 4096 is the largest output every current Claude
 * model accepts (claude-3-haiku's ceiling), so it never makes a request invalid.
 */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * reasoning_effort -> thinking.budget_tokens. Anthropic's minimum budget is 1024
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking); the steps roughly double
 * per level and stop at 32k, above which Anthropic recommends batch processing. "none" sends no thinking.
 */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 24576,
  max: 32000,
};
const MIN_THINKING_BUDGET = 1024;

/**
 * Accepted and not sent, because they cannot change the answer:
 * - stream_options: include_usage is honoured by the stream translator (ctx.includeUsage);
 *   Anthropic streams always carry usage.
 * - store, metadata: OpenAI's stored-completions feature; nothing is stored at Anthropic.
 * - prompt_cache_key: a routing hint for OpenAI's implicit cache; Anthropic caches by `cache_control`.
 * - parallel_tool_calls: true is Anthropic's default (false is mapped).
 * - model: replaced by the routed model name.
 */

export function toAnthropic(body: Record<string, unknown>, model: string): AnthropicRequest {
  return toAnthropicChat(body, model).request;
}

/** A translated chat request, and what the translation changed that the client should be told. */
export interface AnthropicChat {
  request: AnthropicRequest;
  /** The thinking the client asked for is not sent: see `thinkingWouldBeRefused`. */
  thinkingDropped: boolean;
}

export function toAnthropicChat(body: Record<string, unknown>, model: string): AnthropicChat {
  const unknown = unknownKey(ChatBodySchema, body);
  if (unknown !== undefined) throw new TranslationError(`Parameter "${unknown}" is not supported for Anthropic models`, unknown);
  const b = parse(ChatBodySchema, body, '');
  refuseUnmappable(b);

  const { system, messages } = mapMessages(b.messages);
  const tools = b.tools?.map((t, i) => mapTool(t, i)) ?? [];
  const asked = mapThinking(b);
  if (asked?.type === 'enabled') refuseWithThinking(b);
  const thinkingDropped = asked?.type === 'enabled' && thinkingWouldBeRefused(messages);
  const thinking = thinkingDropped ? undefined : asked;
  const out: AnthropicRequest = {
    model,
    max_tokens: maxTokens(b, thinking),
    ...(system !== undefined ? { system } : {}),
    messages,
  };
  if (tools.length > 0) out.tools = tools;
  const toolChoice = mapToolChoice(b, tools.length > 0);
  if (toolChoice) out.tool_choice = toolChoice;
  if (b.stop != null) {
    // Anthropic refuses whitespace-only stop sequences ("\n" is a common one); as its own OpenAI
    // compatibility layer does, only the others carry over.
    const stops = (typeof b.stop === 'string' ? [b.stop] : b.stop).filter((s) => s.trim() !== '');
    if (stops.length > 0) out.stop_sequences = stops;
  }
  // OpenAI's temperature runs 0-2, Anthropic's 0-1: higher values are capped at 1 (as Anthropic's
  // OpenAI compatibility layer does).
  if (b.temperature != null) out.temperature = Math.min(b.temperature, 1);
  if (b.top_p != null) out.top_p = b.top_p;
  if (b.top_k != null) out.top_k = b.top_k;
  if (thinking) out.thinking = thinking;
  // metadata.user_id is Anthropic's opaque end-user id for abuse detection, like OpenAI's `user`.
  const userId = b.user ?? b.safety_identifier;
  if (userId != null) out.metadata = { user_id: userId };
  if (b.stream === true) out.stream = true;
  return { request: out, thinkingDropped };
}

/**
 * Whether Anthropic would refuse this history with thinking on: the request continues a tool-use
 * loop (it ends with tool results), and the assistant turn that loop belongs to does not start with
 * its thinking, because the client kept only the text of the answer (`reasoning_content`, as
 * LangChain's ChatOpenAI does) and sent the tool calls back without `thinking_blocks`.
 *
 * Anthropic's rule (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#extended-thinking-with-tool-use,
 * "Preserving thinking blocks" and "Toggling thinking modes"): a tool-use loop is one assistant turn,
 * from the last user message that is not tool results to the end; with thinking on, that turn must
 * start with a thinking (or redacted_thinking) block. Later messages of the turn need none (without
 * interleaved thinking Claude thinks once, at the start of the turn), and earlier turns' thinking is
 * stripped by Anthropic, so a history ending with a new user message never needs it. Such a request
 * is sent without thinking, which Anthropic accepts for the rest of the loop (what LiteLLM does with
 * `modify_params`), rather than sent to be refused for certain; a client that echoes
 * `thinking_blocks` keeps its thinking.
 */
export function thinkingWouldBeRefused(messages: readonly MessageParam[]): boolean {
  const last = messages.at(-1);
  if (last?.role !== 'user' || !hasToolResult(last)) return false;
  // The turn's first assistant message: the one after the last user message that is not a tool result.
  let first: MessageParam | undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'assistant') first = m;
    else if (!hasToolResult(m)) break;
  }
  if (first === undefined) return false;
  const lead = typeof first.content === 'string' ? undefined : first.content[0];
  return lead?.type !== 'thinking' && lead?.type !== 'redacted_thinking';
}

/** A user message carrying tool results continues the assistant's turn (its text, if any, comes after them). */
function hasToolResult(m: MessageParam): boolean {
  return typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_result');
}

function refuseUnmappable(b: ChatBody): void {
  const refuse = (param: string, why: string): never => {
    throw new TranslationError(`${why} (parameter "${param}" cannot be translated for Anthropic models)`, param);
  };
  if (b.n != null && b.n !== 1) refuse('n', 'Anthropic returns one choice per request');
  if (b.logprobs === true) refuse('logprobs', 'Anthropic does not return log probabilities');
  if (b.top_logprobs != null && b.top_logprobs > 0) refuse('top_logprobs', 'Anthropic does not return log probabilities');
  // json_object has no Anthropic equivalent, and json_schema needs a beta (structured outputs);
  // emulating either with a forced tool would change the response shape, so both are refused.
  if (b.response_format != null && b.response_format.type !== 'text') {
    refuse('response_format', `response_format "${b.response_format.type}" has no Anthropic equivalent`);
  }
  if (b.presence_penalty != null && b.presence_penalty !== 0) refuse('presence_penalty', 'Anthropic has no presence penalty');
  if (b.frequency_penalty != null && b.frequency_penalty !== 0) refuse('frequency_penalty', 'Anthropic has no frequency penalty');
  if (b.logit_bias != null && Object.keys(b.logit_bias).length > 0) refuse('logit_bias', 'Anthropic has no logit bias');
  if (b.seed != null) refuse('seed', 'Anthropic has no sampling seed');
  if (b.service_tier != null && b.service_tier !== 'auto' && b.service_tier !== 'default') {
    refuse('service_tier', `service tier "${b.service_tier}" has no Anthropic equivalent`);
  }
  if (b.modalities != null && b.modalities.some((m) => m !== 'text')) refuse('modalities', 'Anthropic answers in text only');
}

/**
 * Extended thinking does not combine with forced tool use, a temperature other than 1, top_k, or a
 * top_p under 0.95 (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking): refused
 * here by name rather than by Anthropic with a message about parameters the client never sent.
 */
function refuseWithThinking(b: ChatBody): void {
  const why = (param: string, what: string): never => {
    throw new TranslationError(`${what} cannot be combined with reasoning_effort or thinking on Anthropic models`, param);
  };
  const choice = b.tool_choice;
  if (choice === 'required' || (choice !== null && typeof choice === 'object')) why('tool_choice', 'Forcing a tool call');
  if (b.temperature != null && b.temperature !== 1) why('temperature', 'A temperature other than 1');
  if (b.top_k != null) why('top_k', 'top_k');
  if (b.top_p != null && b.top_p < 0.95) why('top_p', 'A top_p under 0.95');
}

function mapTool(raw: { type: string }, i: number): AnthropicTool {
  if (raw.type !== 'function') {
    throw new TranslationError(`Tool type "${raw.type}" is not supported for Anthropic models`, `tools[${i}].type`);
  }
  // `strict` is not sent: Anthropic has no strict mode outside a beta and validates against input_schema.
  const { function: fn } = parse(FunctionToolSchema, raw, `tools[${i}]`);
  const params = fn.parameters ?? { type: 'object', properties: {} };
  if (params['type'] !== undefined && params['type'] !== 'object') {
    throw new TranslationError('Anthropic tool parameters must be a JSON Schema of type "object"', `tools[${i}].function.parameters.type`);
  }
  const tool: AnthropicTool = { name: fn.name, input_schema: { ...params, type: 'object' } };
  if (fn.description !== undefined) tool.description = fn.description;
  return tool;
}

/** https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use */
function mapToolChoice(b: ChatBody, hasTools: boolean): AnthropicToolChoice | undefined {
  const noParallel = b.parallel_tool_calls === false;
  if (b.tool_choice == null) return hasTools && noParallel ? { type: 'auto', disable_parallel_tool_use: true } : undefined;
  const choice = parse(OpenaiToolChoiceSchema, b.tool_choice, 'tool_choice');
  // "none" keeps its meaning (never auto): the model may not call any tool.
  if (choice === 'none') return hasTools ? { type: 'none' } : undefined;
  if (!hasTools) throw new TranslationError('tool_choice requires tools', 'tool_choice');
  const parallel = noParallel ? { disable_parallel_tool_use: true } : {};
  if (choice === 'auto') return { type: 'auto', ...parallel };
  if (choice === 'required') return { type: 'any', ...parallel };
  return { type: 'tool', name: choice.function.name, ...parallel };
}

function mapThinking(b: ChatBody): ThinkingConfig | undefined {
  if (b.thinking !== undefined) {
    if (b.reasoning_effort != null) {
      throw new TranslationError('Send either reasoning_effort or thinking, not both', 'reasoning_effort');
    }
    return parse(ThinkingConfigSchema, b.thinking, 'thinking');
  }
  if (b.reasoning_effort == null || b.reasoning_effort === 'none') return undefined;
  return { type: 'enabled', budget_tokens: THINKING_BUDGETS[b.reasoning_effort] ?? MIN_THINKING_BUDGET };
}

/**
 * OpenAI's max_completion_tokens (max_tokens is its deprecated alias) and Anthropic's max_tokens both
 * cap reasoning plus answer. With thinking, budget_tokens must stay below max_tokens: without a client
 * limit the answer keeps DEFAULT_MAX_TOKENS on top of the budget; with one, the budget shrinks to fit.
 */
function maxTokens(b: ChatBody, thinking: ThinkingConfig | undefined): number {
  const param = b.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  const limit = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  if (thinking?.type !== 'enabled') return limit ?? DEFAULT_MAX_TOKENS;
  if (limit === undefined) return thinking.budget_tokens + DEFAULT_MAX_TOKENS;
  if (b.thinking === undefined) {
    if (limit <= MIN_THINKING_BUDGET) {
      throw new TranslationError(`${param} must be above ${MIN_THINKING_BUDGET} when reasoning_effort is set`, param);
    }
    thinking.budget_tokens = Math.min(thinking.budget_tokens, limit - 1);
  }
  return limit;
}

/** zod parse whose first issue becomes a TranslationError naming the parameter path. */
function parse<T extends z.ZodType>(schema: T, value: unknown, base: string): z.infer<T> {
  return parseParam(schema, value, base, (issue, path) => {
    return new TranslationError(`Invalid ${path || 'body'}: ${issue?.message ?? 'invalid value'}`, path || null);
  });
}
