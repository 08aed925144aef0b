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
    ['address:password pair', 'leaked jane@corp.io:hunter2', ['jane@corp.io']],
    ['password in URL userinfo with a port', 'https://user:pw@host.com:8443/x', ['pw@host.com']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(email, text)).toEqual(expected);
  });

  test.each([
    ['an npm scope', 'install @scope/pkg'],
    ['a package version', 'pin lodash@4.17.21'],
    ['a host without a dot', 'ssh user@localhost'],
    ['a bare at sign', 'meet @ noon'],
    ['a handle', 'ping @jane on slack'],
    ['an ssh git remote', 'git clone git@github.com:owner/repo.git'],
    ['an ssh git remote with a deeper host', 'git@ssh.dev.azure.com:v3/org/project/repo'],
    ['an scp target', 'scp app.tar deploy@web.example.com:/srv/app'],
    ['an scp target in the home directory', 'deploy@web.example.com:~/app'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(email, text)).toEqual([]);
  });
});
