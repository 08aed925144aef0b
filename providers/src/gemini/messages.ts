/**
 * OpenAI chat messages -> Gemini `systemInstruction` + `contents`.
 * Reference: https://ai.google.dev/api/caching#Content and
 * https://ai.google.dev/gemini-api/docs/function-calling (function responses go back in a `user` turn).
 */
import { isPlainObject, parseToolArguments } from '../openai/chat-request.ts';
import { TranslationError } from '../types.ts';
import type { ChatMessage, UserPart } from './openai-input.ts';
import type { GeminiContent, GeminiPart, GeminiRequest } from './types.ts';

/** Formats Gemini accepts as image input (https://ai.google.dev/gemini-api/docs/image-understanding). */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  gif: 'image/gif',
  pdf: 'application/pdf',
};

const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s;

export function toGeminiMessages(messages: ChatMessage[]): Pick<GeminiRequest, 'contents' | 'systemInstruction'> {
  const system: Array<{ text: string }> = [];
  const contents: GeminiContent[] = [];
  /** tool_call id -> function name; later calls win, so ids reused across turns resolve to the latest. */
  const callNames = new Map<string, string>();

  messages.forEach((msg, i) => {
    const at = `messages[${i}]`;
    switch (msg.role) {
      case 'system':
      case 'developer':
        // Gemini has one systemInstruction; a system message after the conversation started would
        // silently move if folded into it, so it is refused instead.
        if (contents.length > 0) {
          throw new TranslationError(`A ${msg.role} message after the first user or assistant message is not supported by Gemini`, at);
        }
        system.push({ text: textOf(msg.content) });
        return;
      case 'user': {
        const parts = typeof msg.content === 'string' ? [{ text: msg.content }] : msg.content.map((p, j) => userPart(p, `${at}.content[${j}]`));
        push(contents, 'user', parts);
        return;
      }
      case 'assistant': {
        const parts: GeminiPart[] = [];
        if (typeof msg.content === 'string') {
          if (msg.content.length > 0) parts.push({ text: msg.content });
        } else if (msg.content) {
          for (const p of msg.content) parts.push({ text: p.type === 'text' ? p.text : p.refusal });
        }
        // A refusal is what the model said; it goes back as the model's text.
        if (msg.refusal) parts.push({ text: msg.refusal });
        msg.tool_calls?.forEach((call, j) => {
          callNames.set(call.id, call.function.name);
          const part: GeminiPart = {
            functionCall: { name: call.function.name, args: parseToolArguments(call.function.arguments, `${at}.tool_calls[${j}].function.arguments`) },
          };
          const signature = call.extra_content?.google?.thought_signature;
          if (signature) part.thoughtSignature = signature;
          parts.push(part);
        });
        // An empty assistant turn carries nothing, and Gemini rejects contents without parts.
        if (parts.length > 0) push(contents, 'model', parts);
        return;
      }
      case 'tool': {
        const name = callNames.get(msg.tool_call_id);
        if (name === undefined) {
          throw new TranslationError(`tool_call_id '${msg.tool_call_id}' does not match any earlier assistant tool call`, `${at}.tool_call_id`);
        }
        push(contents, 'user', [{ functionResponse: { name, response: toResponseObject(textOf(msg.content)) } }]);
        return;
      }
    }
  });

  return system.length > 0 ? { systemInstruction: { parts: system }, contents } : { contents };
}

/** Consecutive same-role messages (e.g. parallel tool results) become one turn, as Gemini expects. */
function push(contents: GeminiContent[], role: GeminiContent['role'], parts: GeminiPart[]): void {
  const last = contents.at(-1);
  if (last && last.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

function textOf(content: string | Array<{ text: string }>): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

function userPart(part: UserPart, at: string): GeminiPart {
  switch (part.type) {
    case 'text':
      return { text: part.text };
    case 'image_url':
      return mediaFromUrl(part.image_url.url, `${at}.image_url.url`);
    case 'input_audio':
      return { inlineData: { mimeType: `audio/${part.input_audio.format}`, data: part.input_audio.data } };
    case 'file':
      if (part.file.file_data) return inlineFromDataUrl(part.file.file_data, `${at}.file.file_data`);
      throw new TranslationError('OpenAI file ids cannot be read by Gemini; send the file as file_data', `${at}.file.file_id`);
  }
}

function mediaFromUrl(url: string, at: string): GeminiPart {
  if (url.startsWith('data:')) return inlineFromDataUrl(url, at);
  if (url.startsWith('https://') || url.startsWith('http://')) {
    const mimeType = guessMime(url);
    if (!mimeType) throw new TranslationError('Cannot tell the image type from the URL; Gemini needs it: use a data: URL', at);
    return { fileData: { mimeType, fileUri: url } };
  }
  throw new TranslationError('image_url must be an https: or data: URL', at);
}

function inlineFromDataUrl(url: string, at: string): GeminiPart {
  const m = DATA_URL.exec(url);
  if (!m || !m[2]?.split(';').includes('base64')) {
    throw new TranslationError('Expected a base64 data: URL (data:<mime>;base64,<data>)', at);
  }
  return { inlineData: { mimeType: m[1] ?? '', data: m[3] ?? '' } };
}

function guessMime(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return path.includes('.') ? MIME_BY_EXTENSION[ext] : undefined;
}

/** Gemini's functionResponse.response must be an object: other JSON (or plain text) goes under `result`. */
function toResponseObject(content: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return { result: content };
  }
  return isPlainObject(parsed) ? parsed : { result: parsed };
}
