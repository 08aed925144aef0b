/**
 * The fake LLM provider used by every integration test and the benchmark: a real HTTP server
 * speaking the OpenAI (and Azure OpenAI), Anthropic and Gemini wire formats.
 *
 * Choosing the answer: `fake.next(scenario)` (FIFO, per request), `fake.setDefault(scenario)`,
 * or per request from another process with the header `x-fake-scenario: <Scenario as JSON>`
 * (or POST /__fake/next with the JSON body). Layers merge field by field:
 * options < default < queued < header.
 *
 * Rules tests can rely on:
 * - Token counts are words (runs of non-whitespace); see scenario.ts for the exact rule.
 * - Default answer text: `Hello from fake <model>`, streamed one word per content delta.
 * - A model (or Azure deployment) whose name starts with `unknown` does not exist: 404.
 * - Keys: any non-empty key unless `validKeys` is given. Bad/missing keys get each provider's
 *   real answer: OpenAI/Azure/Anthropic 401; Gemini 403 (missing) or 400 API_KEY_INVALID (wrong).
 * - Anthropic needs `anthropic-version` (400 without it), like the real API.
 * - Tool calls: `toolCall` (one) or `toolCalls` (several at once, in order; replaces `toolCall`),
 *   answered only when the request offers tools. The history sent back is checked as the real APIs
 *   check it: Anthropic wants every tool_use's tool_result in the next user turn, Gemini as many
 *   functionResponse parts as the turn had functionCall parts (400 otherwise).
 * - Responses API: `reasoningSummary` adds a reasoning output item (its summary filled only when the
 *   request asks with `reasoning.summary`); stream events are numbered consecutively, an in-stream
 *   error included.
 * - Embeddings: at most 2048 inputs; `dimensions` refused for text-embedding-ada-002 (OpenAI's 400s).
 * - Control routes (not recorded, no scenario consumed): GET /__fake/calls, GET /__fake/stats,
 *   POST /__fake/next, POST /__fake/default, POST /__fake/reset.
 *
 * @example
 * const fake = await startFakeProvider();
 * const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
 * fake.next({ text: 'hi there', chunks: 2 });
 * const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
 * await fake.close();
 */
export { startFakeProvider, type FakeProvider, type FakeProviderOptions } from './server.ts';
export { fakeProviderCli } from './cli.ts';
export type { RecordedCall } from './http.ts';
export {
  countWords, outputWords, resolveUsage, splitText,
  type MidStreamError, type Scenario, type TokenCounts, type ToolCallSpec, type UsageOverride,
} from './scenario.ts';
export { embeddingVector } from './embeddings.ts';
export { defaultText } from './answer.ts';
