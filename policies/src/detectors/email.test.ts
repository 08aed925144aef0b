import { describe, expect, test } from 'vitest';
import { email } from './email.ts';
import { found } from './found.test-helper.ts';

describe('email detector', () => {
  test.each([
    ['plain address', 'write to jane.doe@example.com today', ['jane.doe@example.com']],
    ['plus tag and subdomains', 'cc a+tag@mail.example.co.uk.', ['a+tag@mail.example.co.uk']],
    ['mailto link', '<a href="mailto:bob@corp.io">', ['bob@corp.io']],
    ['two addresses', 'x@a.io, y@b.io', ['x@a.io', 'y@b.io']],
    // Documented: an address inside a URL path is still an address; the URL around it stays.
    ['address inside a URL path', 'see https://x.com/u/a@b.com/ now', ['a@b.com']],
    ['address in a query string', 'https://x.com/?to=joe@ex.org&x=1', ['joe@ex.org']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(email, text)).toEqual(expected);
  });

  test.each([
    ['an npm scope', 'install @scope/pkg'],
    ['a package version', 'pin lodash@4.17.21'],
    ['a host without a dot', 'ssh user@localhost'],
    ['a bare at sign', 'meet @ noon'],
    ['a handle', 'ping @jane on slack'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(email, text)).toEqual([]);
  });
});
