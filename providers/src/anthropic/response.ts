/**
 * Anthropic Message -> OpenAI chat.completion.
 * Text blocks are concatenated into `content`; tool_use blocks become `tool_calls` in order, keeping
 * Anthropic's ids (the client echoes them back as tool_call_id, which request.ts maps to tool_use_id);
 * thinking text goes to `message.reasoning_content`, the de-facto field of OpenAI-compatible APIs
 * (DeepSeek, vLLM, LiteLLM) since OpenAI's own chat format has none, and every thinking block, redacted
 * ones included, goes to `message.thinking_blocks` with its signature, as LiteLLM does, so that a client
 * appending this message to its history sends them back. Other block types (server tools) are never
 * requested by request.ts.
 */
import { chatChoice, chatCompletion } from '../openai/chat-response.ts';
import type { TranslateContext } from '../types.ts';
import type { AssistantMessage, ChatCompletion, OpenaiToolCall, ThinkingBlock } from './openai-types.ts';
import type { AnthropicResponse } from './types.ts';
import { toFinishReason, toOpenaiUsage } from './usage.ts';

export function toOpenaiChat(body: AnthropicResponse, ctx: TranslateContext): ChatCompletion {
  const text: string[] = [];
  const thinking: string[] = [];
  const thinkingBlocks: ThinkingBlock[] = [];
  const toolCalls: OpenaiToolCall[] = [];
  for (const block of body.content) {
    switch (block.type) {
      case 'text':
        text.push(block.text);
        break;
      case 'thinking':
        thinking.push(block.thinking);
        thinkingBlocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature ?? '' });
        break;
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: block.data });
        break;
      case 'tool_use':
        toolCalls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
        break;
    }
  }

  const message: AssistantMessage = {
    role: 'assistant',
    // OpenAI sends null, not "", when the turn is only tool calls.
    content: text.length > 0 ? text.join('') : null,
    refusal: null,
  };
  if (thinking.length > 0) message.reasoning_content = thinking.join('');
  if (thinkingBlocks.length > 0) message.thinking_blocks = thinkingBlocks;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;

  return chatCompletion(ctx, [chatChoice(0, message, toFinishReason(body.stop_reason))], toOpenaiUsage(body.usage));
}
