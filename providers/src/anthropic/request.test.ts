import { describe, expect, test } from 'vitest';
import { TranslationError } from '../types.ts';
import { toAnthropic, toAnthropicChat } from './request.ts';
import { AnthropicRequestSchema } from './types.ts';

const M = 'claude-sonnet-4-5';
const user = (content: unknown) => ({ role: 'user', content });
const hi = [user('Hi')];

describe('toAnthropic: messages', () => {
  test.each([
    {
      title: 'hoists a system message into top-level system and defaults max_tokens to 4096',
      body: { model: 'x', messages: [{ role: 'system', content: 'Be brief.' }, user('Hi')] },
      expected: { model: M, max_tokens: 4096, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] },
    },
    {
      title: 'joins system and developer messages into system blocks in order',
      body: {
        messages: [
          { role: 'system', content: 'A' },
          { role: 'developer', content: [{ type: 'text', text: 'B' }] },
          user('Hi'),
        ],
      },
      expected: {
        model: M,
        max_tokens: 4096,
        system: [
          { type: 'text', text: 'A' },
          { type: 'text', text: 'B' },
        ],
        messages: [{ role: 'user', content: 'Hi' }],
      },
    },
    {
      title: 'keeps a multi-turn conversation alternating and merges consecutive user turns',
      body: { messages: [user('a'), { role: 'assistant', content: 'b' }, user('c'), user([{ type: 'text', text: 'd' }])] },
      expected: {
        model: M,
        max_tokens: 4096,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'c' },
              { type: 'text', text: 'd' },
            ],
          },
        ],
      },
    },
    {
      title: 'maps a base64 data URL image to a base64 source with its media type',
      body: {
        messages: [
          user([
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ]),
        ],
      },
      expected: {
        model: M,
        max_tokens: 4096,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            ],
          },
        ],
      },
    },
    {
      title: 'maps an https image URL to a url source',
      body: { messages: [user([{ type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } }])] },
      expected: {
        model: M,
        max_tokens: 4096,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } }] }],
      },
    },
    {
      title: 'maps a PDF file part to a document block and keeps cache_control on parts',
      body: {
        messages: [
          user([
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
            { type: 'text', text: 'Summarise', cache_control: { type: 'ephemeral' } },
          ]),
        ],
      },
      expected: {
        model: M,
        max_tokens: 4096,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
              { type: 'text', text: 'Summarise', cache_control: { type: 'ephemeral' } },
            ],
          },
        ],
      },
    },
  ] as const)('$title', ({ body, expected }) => {
    const out = toAnthropic(body, M);
    expect(out).toEqual(expected);
    expect(AnthropicRequestSchema.safeParse(out).success).toBe(true);
  });

  test('turns parallel assistant tool_calls into tool_use blocks and their results into one user turn', () => {
    const out = toAnthropic(
      {
        messages: [
          user('Weather in Paris and Rome?'),
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_1', content: '18C' },
          { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '24C' }] },
          user('Thanks, which is warmer?'),
        ],
      },
      M,
    );
    expect(out.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '24C' }] },
          { type: 'text', text: 'Thanks, which is warmer?' },
        ],
      },
    ]);
  });

  test('leaves empty text out: an image with an empty caption, an empty system text, an empty assistant part before tool calls', () => {
    const image = { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } };
    const out = toAnthropic(
      {
        messages: [
          { role: 'system', content: '' },
          { role: 'developer', content: 'be nice' },
          user([{ type: 'text', text: '' }, image]),
          { role: 'assistant', content: [{ type: 'text', text: '' }], tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 't1', content: 'ok' },
          user(''),
          user('thanks'),
        ],
      },
      M,
    );
    expect(out.system).toBe('be nice');
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'ok' },
          { type: 'text', text: 'thanks' },
        ],
      },
    ]);
    expect(() => AnthropicRequestSchema.parse(out)).not.toThrow();
  });

  test('keeps assistant text before its tool_use and reads empty arguments as {}', () => {
    const out = toAnthropic(
      {
        messages: [
          user('time?'),
          {
            role: 'assistant',
            content: 'Let me check.',
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'now', arguments: '' } }],
          },
        ],
      },
      M,
    );
    expect(out.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 't1', name: 'now', input: {} },
      ],
    });
  });

  test('puts thinking_blocks sent back on an assistant message first in its turn, signatures unchanged', () => {
    const thinking_blocks = [
      { type: 'thinking', thinking: 'Need the time.', signature: 'EqQBCkYIBxgC' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3' },
    ];
    const out = toAnthropic(
      {
        messages: [
          user('time?'),
          // what an answer's message looks like when a client appends it whole (reasoning_content is ignored)
          {
            role: 'assistant',
            content: null,
            reasoning_content: 'Need the time.',
            thinking_blocks,
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'now', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 't1', content: '12:00' },
          { role: 'assistant', content: 'Noon.', thinking_blocks: [thinking_blocks[0]] },
        ],
      },
      M,
    );
    expect(out.messages[1]).toEqual({
      role: 'assistant',
      content: [...thinking_blocks, { type: 'tool_use', id: 't1', name: 'now', input: {} }],
    });
    expect(out.messages[3]).toEqual({ role: 'assistant', content: [thinking_blocks[0], { type: 'text', text: 'Noon.' }] });
  });

  test('refuses a thinking block without its signature, naming the field', () => {
    expect(() =>
      toAnthropic(
        { messages: [user('x'), { role: 'assistant', content: 'y', thinking_blocks: [{ type: 'thinking', thinking: 'z' }] }] },
        M,
      ),
    ).toThrow(/thinking_blocks/);
  });
});

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const anthropicWeatherTool = {
  name: 'get_weather',
  description: 'Current weather',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('toAnthropic: tools and tool_choice', () => {
  test.each([
    { title: 'sends no tool_choice when the client sent none', extra: {}, choice: undefined },
    { title: 'maps "auto" to {type:auto}', extra: { tool_choice: 'auto' }, choice: { type: 'auto' } },
    { title: 'maps "required" to {type:any}', extra: { tool_choice: 'required' }, choice: { type: 'any' } },
    { title: 'maps "none" to {type:none}, never auto', extra: { tool_choice: 'none' }, choice: { type: 'none' } },
    {
      title: 'maps a named function to {type:tool,name}',
      extra: { tool_choice: { type: 'function', function: { name: 'get_weather' } } },
      choice: { type: 'tool', name: 'get_weather' },
    },
    {
      title: 'maps parallel_tool_calls:false alone to auto with disable_parallel_tool_use',
      extra: { parallel_tool_calls: false },
      choice: { type: 'auto', disable_parallel_tool_use: true },
    },
    {
      title: 'adds disable_parallel_tool_use to "required"',
      extra: { tool_choice: 'required', parallel_tool_calls: false },
      choice: { type: 'any', disable_parallel_tool_use: true },
    },
  ] as const)('$title', ({ extra, choice }) => {
    const out = toAnthropic({ messages: hi, tools: [weatherTool], ...extra }, M);
    expect(out.tools).toEqual([anthropicWeatherTool]);
    expect(out.tool_choice).toEqual(choice);
  });

  test('gives a tool without parameters an empty object schema', () => {
    const out = toAnthropic({ messages: hi, tools: [{ type: 'function', function: { name: 'now' } }] }, M);
    expect(out.tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }]);
  });
});

describe('toAnthropic: parameters', () => {
  test('maps sampling, stop, user, stream and max_completion_tokens', () => {
    const out = toAnthropic(
      {
        model: 'gpt-4o',
        messages: hi,
        max_tokens: 10,
        max_completion_tokens: 300,
        stop: 'END',
        temperature: 0.2,
        top_p: 0.9,
        user: 'user-42',
        stream: true,
        stream_options: { include_usage: true },
        n: 1,
        presence_penalty: 0,
      },
      M,
    );
    expect(out).toEqual({
      model: M,
      max_tokens: 300,
      messages: [{ role: 'user', content: 'Hi' }],
      stop_sequences: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      metadata: { user_id: 'user-42' },
      stream: true,
    });
  });

  test('drops whitespace-only stop sequences and caps temperature at 1 (Anthropic refuses both as sent)', () => {
    const out = toAnthropic({ messages: hi, stop: ['\n', 'END', ' ', ''], temperature: 1.5 }, M);
    expect(out.stop_sequences).toEqual(['END']);
    expect(out.temperature).toBe(1);
    expect(toAnthropic({ messages: hi, stop: '\n\n' }, M)).not.toHaveProperty('stop_sequences');
  });

  test('keeps temperature 1 and top_p from 0.95 with thinking', () => {
    const out = toAnthropic({ messages: hi, reasoning_effort: 'low', temperature: 1, top_p: 0.95, tools: [weatherTool], tool_choice: 'auto' }, M);
    expect(out).toMatchObject({ temperature: 1, top_p: 0.95, tool_choice: { type: 'auto' }, thinking: { type: 'enabled' } });
  });

  test.each([
    { title: 'maps reasoning_effort low to a 2048 budget on top of the default answer room', extra: { reasoning_effort: 'low' }, max: 6144, thinking: { type: 'enabled', budget_tokens: 2048 } },
    { title: 'shrinks the thinking budget below a client max_completion_tokens', extra: { reasoning_effort: 'high', max_completion_tokens: 5000 }, max: 5000, thinking: { type: 'enabled', budget_tokens: 4999 } },
    { title: 'sends no thinking for reasoning_effort none', extra: { reasoning_effort: 'none' }, max: 4096, thinking: undefined },
    { title: 'passes an explicit Anthropic thinking config through', extra: { thinking: { type: 'enabled', budget_tokens: 3000 }, max_tokens: 8000 }, max: 8000, thinking: { type: 'enabled', budget_tokens: 3000 } },
  ] as const)('$title', ({ extra, max, thinking }) => {
    const out = toAnthropic({ messages: hi, ...extra }, M);
    expect(out.max_tokens).toBe(max);
    expect(out.thinking).toEqual(thinking);
  });

  test.each([
    { title: 'refuses n > 1', extra: { n: 2 }, param: 'n' },
    { title: 'refuses logprobs', extra: { logprobs: true }, param: 'logprobs' },
    { title: 'refuses response_format json_object', extra: { response_format: { type: 'json_object' } }, param: 'response_format' },
    { title: 'refuses response_format json_schema', extra: { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, param: 'response_format' },
    { title: 'refuses a non-zero frequency_penalty', extra: { frequency_penalty: 0.5 }, param: 'frequency_penalty' },
    { title: 'refuses seed', extra: { seed: 7 }, param: 'seed' },
    { title: 'refuses an unknown parameter by name', extra: { functions: [] }, param: 'functions' },
    { title: 'refuses a non-function tool', extra: { tools: [{ type: 'custom', custom: { name: 'x' } }] }, param: 'tools[0].type' },
    { title: 'refuses tool_choice without tools', extra: { tool_choice: 'required' }, param: 'tool_choice' },
    { title: 'refuses allowed_tools tool_choice', extra: { tools: [weatherTool], tool_choice: { type: 'allowed_tools' } }, param: 'tool_choice' },
    { title: 'refuses reasoning_effort with a max below the minimum budget', extra: { reasoning_effort: 'low', max_tokens: 1000 }, param: 'max_tokens' },
    { title: 'refuses reasoning_effort together with thinking', extra: { reasoning_effort: 'low', thinking: { type: 'disabled' } }, param: 'reasoning_effort' },
    { title: 'names the message field when a message is malformed', extra: { messages: [{ role: 'user' }] }, param: 'messages[0].content' },
    { title: 'refuses audio input parts', extra: { messages: [user([{ type: 'input_audio', input_audio: {} }])] }, param: 'messages[0].content[0].type' },
    { title: 'refuses non-base64 data URLs', extra: { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/svg+xml,<svg/>' } }])] }, param: 'messages[0].content[0].image_url.url' },
    {
      title: 'refuses tool call arguments that are not JSON, naming the argument',
      extra: {
        messages: [
          user('x'),
          { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"a":' } }] },
        ],
      },
      param: 'messages[1].tool_calls[0].function.arguments',
    },
    { title: 'refuses forced tool use with thinking', extra: { reasoning_effort: 'low', tools: [weatherTool], tool_choice: 'required' }, param: 'tool_choice' },
    {
      title: 'refuses a named tool_choice with thinking',
      extra: { thinking: { type: 'enabled', budget_tokens: 2000 }, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
      param: 'tool_choice',
    },
    { title: 'refuses a temperature other than 1 with thinking', extra: { reasoning_effort: 'medium', temperature: 0.2 }, param: 'temperature' },
    { title: 'refuses top_k with thinking', extra: { reasoning_effort: 'medium', top_k: 5 }, param: 'top_k' },
    { title: 'refuses a top_p under 0.95 with thinking', extra: { reasoning_effort: 'medium', top_p: 0.5 }, param: 'top_p' },
    { title: 'refuses a request with only a system message', extra: { messages: [{ role: 'system', content: 'Be brief.' }] }, param: 'messages' },
    { title: 'refuses a user message whose only text is empty', extra: { messages: [user('')] }, param: 'messages[0].content' },
    {
      title: 'names the first message of an empty merged turn',
      extra: { messages: [user('a'), { role: 'assistant', content: 'b' }, user(''), user([{ type: 'text', text: '' }])] },
      param: 'messages[2].content',
    },
    {
      title: 'refuses tool call arguments that are a JSON array',
      extra: {
        messages: [user('x'), { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '[1]' } }] }],
      },
      param: 'messages[1].tool_calls[0].function.arguments',
    },
  ] as const)('$title', ({ extra, param }) => {
    let caught: unknown;
    try {
      toAnthropic({ messages: hi, ...extra }, M);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TranslationError);
    expect((caught as TranslationError).param).toBe(param);
  });
});

describe('toAnthropicChat: thinking on a tool-use continuation (LangChain keeps reasoning_content, not thinking_blocks)', () => {
  const signed = { type: 'thinking', thinking: 'I should call the tool.', signature: 'sig' } as const;
  const call = (id: string) => ({ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
  /** An assistant turn as LangChain's ChatOpenAI sends it back: "" content, the tool calls, no thinking_blocks. */
  const bare = (id: string) => ({ role: 'assistant', content: '', tool_calls: [call(id)] });
  const echoed = (id: string) => ({ ...bare(id), thinking_blocks: [signed] });
  const result = (id: string) => ({ role: 'tool', tool_call_id: id, content: '{"temp":21}' });
  const ask = { reasoning_effort: 'low', tools: [weatherTool] } as const;

  test('sends the continuation without thinking when its assistant turn lost its thinking blocks', () => {
    const { request, thinkingDropped } = toAnthropicChat({ ...ask, messages: [user('weather?'), bare('t1'), result('t1')] }, M);
    expect(thinkingDropped).toBe(true);
    expect(request).not.toHaveProperty('thinking');
    // the answer room without thinking, and the turn itself unchanged
    expect(request.max_tokens).toBe(4096);
    expect(request.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } }] });
  });

  test('drops it for an explicit Anthropic thinking config too, and for results followed by text in the same turn', () => {
    const body = {
      thinking: { type: 'enabled', budget_tokens: 2000 },
      max_tokens: 8000,
      tools: [weatherTool],
      messages: [user('weather?'), bare('t1'), result('t1'), user('and be brief')],
    };
    const { request, thinkingDropped } = toAnthropicChat(body, M);
    expect(thinkingDropped).toBe(true);
    expect(request).not.toHaveProperty('thinking');
    expect(request.max_tokens).toBe(8000);
  });

  test('keeps thinking when the client echoed thinking_blocks: they lead the turn', () => {
    const { request, thinkingDropped } = toAnthropicChat({ ...ask, messages: [user('weather?'), echoed('t1'), result('t1')] }, M);
    expect(thinkingDropped).toBe(false);
    expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect((request.messages[1]?.content as Array<{ type: string }>).map((b) => b.type)).toEqual(['thinking', 'tool_use']);
  });

  test('keeps thinking in a loop of several steps whose first step carries it (later steps have none without interleaved thinking)', () => {
    const messages = [user('weather?'), echoed('t1'), result('t1'), bare('t2'), result('t2')];
    const { request, thinkingDropped } = toAnthropicChat({ ...ask, messages }, M);
    expect(thinkingDropped).toBe(false);
    expect(request.thinking).toMatchObject({ type: 'enabled' });
  });

  test('drops it in a loop of several steps when the step that started the turn lost its thinking', () => {
    const messages = [user('weather?'), bare('t1'), result('t1'), echoed('t2'), result('t2')];
    expect(toAnthropicChat({ ...ask, messages }, M).thinkingDropped).toBe(true);
  });

  test('keeps thinking for a new user message after earlier tool loops that lost theirs (earlier turns are stripped)', () => {
    const messages = [user('weather?'), bare('t1'), result('t1'), { role: 'assistant', content: 'It is 21 degrees.' }, user('and tomorrow?')];
    const { request, thinkingDropped } = toAnthropicChat({ ...ask, messages }, M);
    expect(thinkingDropped).toBe(false);
    expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(request.max_tokens).toBe(2048 + 4096);
  });

  test('changes nothing without thinking, and toAnthropic returns the same request', () => {
    const body = { tools: [weatherTool], messages: [user('weather?'), bare('t1'), result('t1')] };
    expect(toAnthropicChat(body, M)).toEqual({ request: toAnthropic(body, M), thinkingDropped: false });
    expect(toAnthropic(body, M)).not.toHaveProperty('thinking');
  });

  test('still refuses what thinking cannot be combined with, dropped or not', () => {
    expect(() => toAnthropicChat({ ...ask, temperature: 0.2, messages: [user('weather?'), bare('t1'), result('t1')] }, M)).toThrow(TranslationError);
  });
});
