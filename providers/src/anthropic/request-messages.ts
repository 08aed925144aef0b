/**
 * OpenAI `messages` -> Anthropic `system` + `messages`.
 *
 * Anthropic takes system text at the top level and only `user`/`assistant` turns
 * (https://docs.anthropic.com/en/api/messages). So: system and developer messages are hoisted into
 * `system` (in order), tool results become `tool_result` blocks in a user turn, and consecutive turns
 * of the same role are merged, which also puts the results of parallel tool calls into the single
 * user turn Anthropic requires
 * (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#handling-results-from-client-tools).
 * Anthropic refuses empty text blocks, which OpenAI clients send freely (an image-only message with
 * an empty caption, a tool-call turn with `""`): they are left out, and a turn left with nothing at
 * all is refused by name.
 */
import { parseToolArguments } from '../openai/chat-request.ts';
import { TranslationError } from '../types.ts';
import type { ChatMessage, ContentPart, TextPart, ToolCall } from './openai-types.ts';
import type { ContentBlockParam, ImageBlockParam, MessageParam, TextBlockParam, ToolUseBlockParam } from './types.ts';

export interface MappedMessages {
  system?: string | TextBlockParam[];
  messages: MessageParam[];
}

export function mapMessages(input: readonly ChatMessage[]): MappedMessages {
  const system: TextBlockParam[] = [];
  const messages: MessageParam[] = [];
  /** The OpenAI index each turn starts at, to name an empty one. */
  const starts: number[] = [];

  input.forEach((msg, i) => {
    if ((msg.role === 'user' || msg.role === 'assistant' || msg.role === 'tool') && messages.at(-1)?.role !== turnRole(msg.role)) starts.push(i);
    const at = `messages[${i}]`;
    switch (msg.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(msg.content));
        return;
      case 'user':
        append(
          messages,
          'user',
          typeof msg.content === 'string' ? msg.content : msg.content.flatMap((p, j) => userPart(p, `${at}.content[${j}]`)),
        );
        return;
      case 'assistant':
        append(messages, 'assistant', assistantContent(msg, at));
        return;
      case 'tool':
        append(messages, 'user', [
          {
            type: 'tool_result',
            tool_use_id: msg.tool_call_id,
            content: typeof msg.content === 'string' ? msg.content : textBlocks(msg.content),
          },
        ]);
        return;
      case 'function':
        throw new TranslationError('Legacy "function" messages are not supported; use "tool" messages', `${at}.role`);
    }
  });

  if (messages.length === 0) throw new TranslationError('Anthropic models need at least one user or assistant message', 'messages');
  messages.forEach((m, t) => {
    if (m.content.length === 0) {
      throw new TranslationError('Anthropic models refuse a message without content (an empty text is not content)', `messages[${starts[t] ?? t}].content`);
    }
  });
  const out: MappedMessages = { messages };
  if (system.length > 0) out.system = collapseSystem(system);
  return out;
}

function turnRole(role: 'user' | 'assistant' | 'tool'): MessageParam['role'] {
  return role === 'assistant' ? 'assistant' : 'user';
}

/** A lone plain system text stays a string (the common, most readable form); otherwise blocks. */
function collapseSystem(blocks: TextBlockParam[]): string | TextBlockParam[] {
  const [only] = blocks;
  return blocks.length === 1 && only && !only.cache_control ? only.text : blocks;
}

function textBlocks(content: string | readonly TextPart[]): TextBlockParam[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.filter((p) => p.text !== '').map((p) => textBlock(p.text, p.cache_control));
}

function textBlock(text: string, cache: TextPart['cache_control']): TextBlockParam {
  return cache ? { type: 'text', text, cache_control: cache } : { type: 'text', text };
}

/** Merging two turns of the same role turns string content into a text block first. */
function append(messages: MessageParam[], role: MessageParam['role'], content: MessageParam['content']): void {
  const last = messages.at(-1);
  if (!last || last.role !== role) {
    messages.push({ role, content });
    return;
  }
  last.content = [...asBlocks(last.content), ...asBlocks(content)];
}

function asBlocks(content: MessageParam['content']): ContentBlockParam[] {
  if (typeof content !== 'string') return content;
  return content === '' ? [] : [{ type: 'text', text: content }];
}

function userPart(part: ContentPart, at: string): ContentBlockParam[] {
  switch (part.type) {
    case 'text':
      return part.text === '' ? [] : [textBlock(part.text, part.cache_control)];
    case 'image_url':
      return [withCache(imageBlock(part.image_url.url, `${at}.image_url.url`), part.cache_control)];
    case 'file':
      return [withCache(documentBlock(part.file, `${at}.file`), part.cache_control)];
    case 'input_audio':
      throw new TranslationError('Audio input is not supported by Anthropic models', `${at}.type`);
    case 'refusal':
      throw new TranslationError('"refusal" parts are only valid in assistant messages', `${at}.type`);
  }
}

function withCache<T extends ContentBlockParam>(block: T, cache: TextPart['cache_control']): T {
  return cache ? { ...block, cache_control: cache } : block;
}

// data:[<media type>][;base64],<data> (RFC 2397); only the base64 form maps to Anthropic's source.
const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** Image sources: https://docs.anthropic.com/en/docs/build-with-claude/vision */
function imageBlock(url: string, at: string): ImageBlockParam {
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1] ?? '', data: data[2] ?? '' } };
  if (url.startsWith('data:')) throw new TranslationError('Image data URLs must be base64 encoded', at);
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new TranslationError('Image URLs must be https://, http:// or base64 data: URLs', at);
}

/** PDF support: https://docs.anthropic.com/en/docs/build-with-claude/pdf-support */
function documentBlock(file: Extract<ContentPart, { type: 'file' }>['file'], at: string): ContentBlockParam {
  if (file.file_data === undefined) {
    throw new TranslationError('OpenAI file ids cannot be used with Anthropic models; send file_data', `${at}.file_id`);
  }
  const data = DATA_URL.exec(file.file_data);
  if (!data || data[1] !== 'application/pdf') {
    throw new TranslationError('file_data must be a base64 data: URL of a PDF (application/pdf)', `${at}.file_data`);
  }
  return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data[2] ?? '' } };
}

function assistantContent(msg: Extract<ChatMessage, { role: 'assistant' }>, at: string): MessageParam['content'] {
  if (msg.function_call != null) {
    throw new TranslationError('Legacy "function_call" is not supported; use "tool_calls"', `${at}.function_call`);
  }
  if (msg.audio != null) throw new TranslationError('Assistant audio is not supported by Anthropic models', `${at}.audio`);

  const calls = msg.tool_calls ?? [];
  const content = msg.content ?? '';
  const thinking = msg.thinking_blocks ?? [];
  if (calls.length === 0 && thinking.length === 0 && typeof content === 'string') return content;

  // Thinking comes first in the turn, as Anthropic wrote it (and requires it with tool use).
  const blocks: ContentBlockParam[] = thinking.map((b) => ({ ...b }));
  if (typeof content === 'string') {
    // Anthropic rejects empty text blocks; an assistant turn with only tool calls often has "".
    if (content !== '') blocks.push({ type: 'text', text: content });
  } else {
    content.forEach((p, j) => {
      if (p.type === 'text') {
        if (p.text !== '') blocks.push(textBlock(p.text, p.cache_control));
      } else if (p.type === 'refusal') {
        if (p.refusal !== '') blocks.push({ type: 'text', text: p.refusal });
      } else {
        throw new TranslationError(`"${p.type}" parts are not valid in assistant messages`, `${at}.content[${j}].type`);
      }
    });
  }
  calls.forEach((call, j) => blocks.push(toolUse(call, `${at}.tool_calls[${j}].function.arguments`)));
  return blocks;
}

function toolUse(call: ToolCall, at: string): ToolUseBlockParam {
  return { type: 'tool_use', id: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments, at) };
}
