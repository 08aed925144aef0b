import { describe, expect, test } from 'vitest';
import { countTokens, estimateUsage, promptOf } from './estimate.ts';

const WORDS = Array.from({ length: 300 }, (_, i) => `result${i}`).join(' ');
const B64 = 'A'.repeat(40_000);
/** The estimate of `body`'s prompt. */
const prompt = (body: Record<string, unknown>) => estimateUsage(body, '').promptTokens;
/** What WORDS alone counts as. */
const words = countTokens(WORDS);

describe('promptOf: every text a request carries, whatever the surface', () => {
  test.each([
    ['Responses function_call_output, a string', { input: [{ type: 'function_call_output', call_id: 'call_1', output: WORDS }] }],
    [
      'Responses function_call_output, as content parts',
      { input: [{ type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: WORDS }] }] },
    ],
    ['Responses custom tool output', { input: [{ type: 'custom_tool_call_output', call_id: 'c', output: WORDS }] }],
    ['Chat tool message', { messages: [{ role: 'tool', tool_call_id: 'call_1', content: WORDS }] }],
    ['Chat tool message, as parts', { messages: [{ role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: WORDS }] }] }],
    ['Anthropic tool_result, a string', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: WORDS }] }] }],
    [
      'Anthropic tool_result, as blocks',
      { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: WORDS }] }] }] },
    ],
    ['Anthropic system blocks', { system: [{ type: 'text', text: WORDS, cache_control: { type: 'ephemeral' } }], messages: [] }],
    ['Anthropic plain-text document', { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: WORDS } }] }] }],
    ['Responses instructions', { instructions: WORDS, input: [] }],
    ['Responses reasoning summary', { input: [{ type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: WORDS }] }] }],
    ['legacy completions prompt', { prompt: [WORDS] }],
  ] as const)('%s counts', (_name, body) => {
    const n = prompt(body as Record<string, unknown>);
    expect(n).toBeGreaterThanOrEqual(words);
    expect(n).toBeLessThan(words + 5);
  });

  test('tool calls count: names and arguments, as strings (Chat, Responses) or objects (Anthropic tool_use)', () => {
    const args = { city: 'Paris', days: 3 };
    const { text } = promptOf({
      messages: [
        { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(args) } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_forecast', input: args }] },
      ],
      input: [{ type: 'function_call', call_id: 'c', name: 'get_time', arguments: '{"tz":"UTC"}' }],
    });
    for (const s of ['get_weather', 'get_forecast', 'get_time', '{"city":"Paris","days":3}', '{"tz":"UTC"}']) expect(text).toContain(s);
  });

  test('tool definitions count, their parameter schemas as JSON (property names included)', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string', description: 'the city' } } };
    const chat = promptOf({ messages: [], tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters } }] });
    const responses = promptOf({ input: 'hi', tools: [{ type: 'function', name: 'get_weather', description: 'Weather now', parameters }] });
    const anthropic = promptOf({ messages: [], tools: [{ name: 'get_weather', description: 'Weather now', input_schema: parameters }] });
    for (const { text } of [chat, responses, anthropic]) {
      expect(text).toContain('get_weather');
      expect(text).toContain('Weather now');
      expect(text).toContain(JSON.stringify(parameters));
    }
  });

  test('identifiers, roles, types and binary payloads do not count', () => {
    const { text } = promptOf({
      input: [
        { type: 'function_call_output', call_id: 'call_abcdef', output: 'ok' },
        { role: 'user', content: [{ type: 'input_image', image_url: `data:image/png;base64,${B64}`, detail: 'high' }] },
        { role: 'user', content: [{ type: 'input_file', filename: 'a.pdf', file_data: `data:application/pdf;base64,${B64}` }] },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: B64 },
      ],
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${B64}` } }] },
        { role: 'user', content: [{ type: 'input_audio', input_audio: { data: B64, format: 'wav' } }] },
        { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: B64 } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: B64 }, { type: 'redacted_thinking', data: B64 }] },
      ],
    });
    expect(text).not.toContain('AAAA');
    expect(text).not.toContain('call_abcdef');
    expect(text).not.toContain('function_call_output');
    expect(text).not.toContain('user');
    expect(text).toContain('ok');
    expect(text).toContain('hmm');
  });

  test('token ids (legacy prompt, embeddings input) count one token each', () => {
    expect(prompt({ prompt: [1, 2, 3] })).toBe(3);
    expect(prompt({ input: [[1, 2], [3, 4, 5]] })).toBe(5);
  });

  test('a body without a prompt counts 0', () => {
    expect(prompt({ model: 'gpt-4o' })).toBe(0);
    expect(estimateUsage(null, 'two words')).toMatchObject({ promptTokens: 0, completionTokens: 2 });
  });
});
