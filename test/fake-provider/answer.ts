/**
 * The provider-neutral answer to one request: text, optional tool call, pieces to stream and
 * token counts. Each provider module only renders it in its own wire format.
 */
import {
  outputWords, resolveUsage, splitText, type Scenario, type TokenCounts, type ToolCallSpec,
} from './scenario.ts';

export interface Answer {
  text: string;
  /** set only when the scenario asks for one and the request offered tools */
  toolCall: ToolCallSpec | undefined;
  /** `text` split for streaming; empty when there is no text */
  pieces: string[];
  finish: 'stop' | 'length' | 'tool';
  usage: TokenCounts;
}

/** Only a model whose name starts with `unknown` does not exist. */
export function modelExists(model: string): boolean {
  return !model.startsWith('unknown');
}

export function defaultText(model: string): string {
  return `Hello from fake ${model}`;
}

export function buildAnswer(scenario: Scenario, model: string, promptWords: number, toolsOffered: boolean): Answer {
  const toolCall = toolsOffered ? scenario.toolCall : undefined;
  // A tool-call answer carries no text unless the scenario gives some explicitly.
  const text = scenario.text ?? (toolCall ? '' : defaultText(model));
  return {
    text,
    toolCall,
    pieces: text ? splitText(text, scenario.chunks) : [],
    finish: toolCall ? 'tool' : (scenario.finishReason ?? 'stop'),
    usage: resolveUsage(promptWords, outputWords(text, toolCall), scenario.usage),
  };
}

/** Whether the request offers a non-empty tools list (the fake answers a tool call only then). */
export function hasTools(body: Record<string, unknown> | null): boolean {
  return Array.isArray(body?.tools) && body.tools.length > 0;
}
