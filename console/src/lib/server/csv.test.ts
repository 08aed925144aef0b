import { describe, expect, test } from 'vitest';
import { toCsv } from './csv.ts';

describe('toCsv', () => {
  test('quotes what needs quoting, numbers as they are, null as empty', () => {
    expect(toCsv(['a', 'b', 'c'], [['x, y', 'say "hi"', 1.5], ['line\nbreak', null, 0]])).toBe(
      'a,b,c\r\n"x, y","say ""hi""",1.5\r\n"line\nbreak",,0\r\n',
    );
  });

  test('a value a spreadsheet would run as a formula is kept as text', () => {
    expect(toCsv(['user'], [['=HYPERLINK("http://evil")'], ['+1'], ['-2'], ['@sum'], ['plain']])).toBe(
      `user\r\n"'=HYPERLINK(""http://evil"")"\r\n'+1\r\n'-2\r\n'@sum\r\nplain\r\n`,
    );
  });
});
