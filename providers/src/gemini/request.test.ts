import { describe, expect, test } from 'vitest';
import { TranslationError } from '../types.ts';
import { toGeminiChat, toGeminiEmbed } from './request.ts';

const user = (content: unknown) => ({ role: 'user', content });

function translationError(fn: () => unknown): TranslationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TranslationError) return e;
    throw e;
  }
  throw new Error('expected a TranslationError');
}

describe('toGeminiChat: messages', () => {
  test('system and developer messages become systemInstruction; user/assistant become user/model turns', () => {
    const req = toGeminiChat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use metric.' }] },
        user('Hi'),
        { role: 'assistant', content: 'Hello!', refusal: null, annotations: undefined },
        user('Bye'),
      ],
    });
    expect(req).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Use metric.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Hello!' }] },
        { role: 'user', parts: [{ text: 'Bye' }] },
      ],
    });
  });

  test('assistant refusals go back as the model\'s text', () => {
    const req = toGeminiChat({ messages: [user('x'), { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help.' }] }] });
    expect(req.contents[1]).toEqual({ role: 'model', parts: [{ text: 'I cannot help.' }] });
  });

  test('a system message after the conversation started is refused, not moved', () => {
    const e = translationError(() => toGeminiChat({ messages: [user('a'), { role: 'system', content: 'late' }] }));
    expect(e.param).toBe('messages[1]');
  });

  test.each([
    ['data: URL -> inlineData', 'data:image/png;base64,iVBORw0KGgo=', { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }],
    ['https URL -> fileData with the MIME type from the extension', 'https://example.com/cat.JPG?x=1', { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?x=1' } }],
  ] as const)('maps image_url %s', (_title, url, part) => {
    const req = toGeminiChat({ messages: [user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url } }])] });
    expect(req.contents).toEqual([{ role: 'user', parts: [{ text: 'What is this?' }, part] }]);
  });

  test.each([
    ['an https URL whose type cannot be guessed', 'https://example.com/image'],
    ['a data: URL that is not base64', 'data:image/png,rawbytes'],
    ['an ftp URL', 'ftp://example.com/a.png'],
  ] as const)('refuses %s with the content path as param', (_title, url) => {
    const e = translationError(() => toGeminiChat({ messages: [user([{ type: 'image_url', image_url: { url } }])] }));
    expect(e.param).toBe('messages[0].content[0].image_url.url');
  });

  test('maps input_audio and file_data to inlineData, refuses file ids', () => {
    const req = toGeminiChat({
      messages: [
        user([
          { type: 'input_audio', input_audio: { data: 'AAA=', format: 'mp3' } },
          { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBE' } },
        ]),
      ],
    });
    expect(req.contents[0]?.parts).toEqual([
      { inlineData: { mimeType: 'audio/mp3', data: 'AAA=' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBE' } },
    ]);
    const e = translationError(() => toGeminiChat({ messages: [user([{ type: 'file', file: { file_id: 'file-1' } }])] }));
    expect(e.param).toBe('messages[0].content[0].file.file_id');
  });

  test('assistant tool calls become functionCall parts and tool results functionResponse parts in one user turn', () => {
    const req = toGeminiChat({
      messages: [
        user('Weather in Paris and Rome?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: 'sig1' } } },
            { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '12:00' }] },
      ],
    });
    expect(req.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'sig1' },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp: 21 } } },
          { functionResponse: { name: 'get_time', response: { result: '12:00' } } },
        ],
      },
    ]);
  });

  test.each([
    ['a JSON array', '[1,2]', { result: [1, 2] }],
    ['a JSON number', '42', { result: 42 }],
    ['JSON null', 'null', { result: null }],
  ] as const)('wraps a tool result that is %s under result', (_title, content, response) => {
    const req = toGeminiChat({
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content },
      ],
    });
    expect(req.contents[1]).toEqual({ role: 'user', parts: [{ functionResponse: { name: 'f', response } }] });
  });

  test('refuses a tool message whose tool_call_id matches no earlier call', () => {
    const e = translationError(() => toGeminiChat({ messages: [user('x'), { role: 'tool', tool_call_id: 'nope', content: 'r' }] }));
    expect(e.param).toBe('messages[1].tool_call_id');
  });

  test('refuses tool call arguments that are not a JSON object', () => {
    const e = translationError(() =>
      toGeminiChat({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }] }] }),
    );
    expect(e.param).toBe('messages[0].tool_calls[0].function.arguments');
  });
});

describe('toGeminiChat: tools and generation config', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', additionalProperties: false } } }];

  test('tools become functionDeclarations with the JSON Schema unchanged', () => {
    expect(toGeminiChat({ messages: [user('x')], tools }).tools).toEqual([
      { functionDeclarations: [{ name: 'get_weather', description: 'Weather', parametersJsonSchema: { type: 'object', additionalProperties: false } }] },
    ]);
  });

  test.each([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
    [{ type: 'function', function: { name: 'get_weather' } }, { mode: 'ANY', allowedFunctionNames: ['get_weather'] }],
  ] as const)('maps tool_choice %j to functionCallingConfig %j', (toolChoice, config) => {
    expect(toGeminiChat({ messages: [user('x')], tools, tool_choice: toolChoice }).toolConfig).toEqual({ functionCallingConfig: config });
  });

  test('refuses tool_choice naming a function that is not in tools', () => {
    const e = translationError(() => toGeminiChat({ messages: [user('x')], tools, tool_choice: { type: 'function', function: { name: 'other' } } }));
    expect(e.param).toBe('tool_choice');
  });

  test('maps sampling and length fields to generationConfig', () => {
    const req = toGeminiChat({
      messages: [user('x')],
      max_tokens: 10,
      max_completion_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: 'END',
      n: 2,
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.3,
      reasoning_effort: 'low',
    });
    expect(req.generationConfig).toEqual({
      maxOutputTokens: 50,
      temperature: 0.2,
      topP: 0.9,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 7,
      presencePenalty: 0.1,
      frequencyPenalty: 0.3,
      thinkingConfig: { thinkingBudget: 1024 },
    });
  });

  test.each([
    [{ type: 'json_object' }, { responseMimeType: 'application/json' }],
    [
      { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } } } } },
      { responseMimeType: 'application/json', responseJsonSchema: { type: 'object', properties: { a: { type: 'string' } } } },
    ],
    [{ type: 'text' }, undefined],
  ] as const)('maps response_format %j', (format, config) => {
    expect(toGeminiChat({ messages: [user('x')], response_format: format }).generationConfig).toEqual(config);
  });

  test('accepts bookkeeping fields without sending them', () => {
    const req = toGeminiChat({ model: 'm', messages: [user('x')], stream: true, stream_options: { include_usage: true }, user: 'u', store: false, metadata: { a: 'b' }, parallel_tool_calls: true });
    expect(req).toEqual({ contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
  });

  test.each([
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 3 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
    ['parallel_tool_calls', { parallel_tool_calls: false }],
    ['reasoning_effort', { reasoning_effort: 'minimal' }],
    ['modalities', { modalities: ['text', 'audio'] }],
    ['audio', { audio: { voice: 'alloy' } }],
    ['functions', { functions: [] }],
    ['messages[0].role', { messages: [{ role: 'function', content: 'x' }] }],
  ] as const)('refuses what Gemini cannot honour, naming param %s', (param, extra) => {
    const e = translationError(() => toGeminiChat({ messages: [user('x')], ...extra }));
    expect(e.param).toBe(param);
  });
});

describe('toGeminiEmbed', () => {
  test('one request per input string, with outputDimensionality from dimensions', () => {
    expect(toGeminiEmbed({ model: 'text-embedding-004', input: ['a', 'b'], dimensions: 256, encoding_format: 'base64' }, 'text-embedding-004')).toEqual({
      requests: [
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] }, outputDimensionality: 256 },
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'b' }] }, outputDimensionality: 256 },
      ],
    });
    expect(toGeminiEmbed({ input: 'solo' }, 'm').requests).toEqual([{ model: 'models/m', content: { parts: [{ text: 'solo' }] } }]);
  });

  test('refuses token-array input', () => {
    expect(translationError(() => toGeminiEmbed({ input: [[1, 2, 3]] }, 'm')).param).toBe('input[0]');
  });

  test('takes 100 inputs, and refuses 101 naming input and the way out (Gemini refuses the whole batch past 100)', () => {
    const texts = (n: number) => Array.from({ length: n }, (_, i) => `text ${i}`);
    expect(toGeminiEmbed({ input: texts(100) }, 'm').requests).toHaveLength(100);
    const err = translationError(() => toGeminiEmbed({ input: texts(101) }, 'm'));
    expect(err.param).toBe('input');
    expect(err.message).toMatch(/at most 100 inputs per request \(got 101\).*batches of 100/);
  });
});
