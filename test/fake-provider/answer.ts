/**
 * The provider-neutral answer to one request: text, optional tool call, pieces to stream and
 * token counts. Each provider module only renders it in its own wire format.
 */
import {
  outputWords, resolveUsage, scenarioToolCalls, splitText, type Scenario, type TokenCounts, type ToolCallSpec,
} from './scenario.ts';

export interface Answer {
  text: string;
  /** the scenario's tool calls, in order; empty unless it asks for some and the request offered tools */
  toolCalls: ToolCallSpec[];
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

/**
 * `parallel: false`: the request allows one tool call per answer (OpenAI `parallel_tool_calls: false`,
 * Anthropic `tool_choice.disable_parallel_tool_use`), so only the scenario's first call is made.
 */
export function buildAnswer(scenario: Scenario, model: string, promptWords: number, toolsOffered: boolean, parallel = true): Answer {
  const asked = toolsOffered ? scenarioToolCalls(scenario) : [];
  const toolCalls = parallel ? asked : asked.slice(0, 1);
  const tool = toolCalls.length > 0;
  // A tool-call answer carries no text unless the scenario gives some explicitly.
  const text = scenario.text ?? (tool ? '' : defaultText(model));
  return {
    text,
    toolCalls,
    pieces: text ? splitText(text, scenario.chunks) : [],
    finish: tool ? 'tool' : (scenario.finishReason ?? 'stop'),
    usage: resolveUsage(promptWords, outputWords(text, toolCalls), scenario.usage),
  };
}

/** Whether the request offers a non-empty tools list (the fake answers a tool call only then). */
export function hasTools(body: Record<string, unknown> | null): boolean {
  return Array.isArray(body?.tools) && body.tools.length > 0;
}
