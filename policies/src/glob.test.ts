import { describe, expect, test } from 'vitest';
import { compileGlob, modelMatches } from './glob.ts';

describe('compileGlob', () => {
  test.each([
    ['gpt-4.5*', 'gpt-4.5-preview', true],
    ['gpt-4.5*', 'GPT-4.5-Preview', true],
    ['gpt-4.5*', 'gpt-405', false],
    ['gpt-4?', 'gpt-4o', true],
    ['gpt-4?', 'gpt-4o-mini', false],
    ['openai/*', 'openai/gpt-4o', true],
    ['claude-(x)', 'claude-(x)', true],
    ['a+b', 'aab', false],
  ] as const)('%s against %s is %s', (glob, value, expected) => {
    expect(compileGlob(glob).test(value)).toBe(expected);
  });

  test('model globs also match the model without its provider prefix', () => {
    const globs = [compileGlob('gpt-4.5*')];
    expect(modelMatches(globs, 'openai/gpt-4.5-preview')).toBe(true);
    expect(modelMatches(globs, 'openai/gpt-4o')).toBe(false);
  });
});
