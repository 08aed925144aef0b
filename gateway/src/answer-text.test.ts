import { describe, expect, test } from 'vitest';
import { answerText, answerTexts } from './answer-text.ts';

describe('answerTexts', () => {
  test('keeps each choice apart, so the end of one never glues onto the start of the next', () => {
    const body = { choices: [{ message: { content: 'I cannot share that' } }, { message: { content: 'sk-proj-x is the key' } }] };
    expect(answerTexts(body)).toEqual(['I cannot share that', 'sk-proj-x is the key']);
    expect(answerText(body)).toBe('I cannot share that\nsk-proj-x is the key');
  });

  test('reads reasoning and refusals in every format, beside the answer', () => {
    const chat = {
      choices: [
        { message: { content: 'a', reasoning_content: 'r1', reasoning: 'r1', refusal: null, tool_calls: [{ function: { arguments: '{}' } }] } },
        { message: { content: null, reasoning: 'r2', refusal: 'no' } },
      ],
    };
    // `reasoning` repeats `reasoning_content` when a provider sends both: read once
    expect(answerTexts(chat)).toEqual(['a', 'r1', '{}', 'r2', 'no']);
    const anthropic = { content: [{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'text', text: 'a' }, { type: 'tool_use', input: { q: 1 } }] };
    expect(answerTexts(anthropic)).toEqual(['t', 'a', '{"q":1}']);
    const responses = {
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 's1' }], content: [{ type: 'reasoning_text', text: 'r' }] },
        { type: 'message', content: [{ type: 'output_text', text: 'a' }, { type: 'refusal', refusal: 'no' }] },
        { type: 'function_call', arguments: '{}' },
      ],
    };
    expect(answerTexts(responses)).toEqual(['r', 's1', 'a', 'no', '{}']);
  });
});
