import type { Detector } from './types.ts';

/**
 * E-mail addresses (RFC 5321 sizes: local part <= 64, labels <= 63). The local part is the
 * common dot-atom subset; quoted local parts are not detected.
 *
 * Inside URLs: an address-shaped segment is still an address, so it is detected wherever it
 * appears, including a URL path (`https://x.com/u/a@b.com/` becomes `https://x.com/u/[EMAIL_1]/`)
 * and URL userinfo (`https://user:pw@host.com` loses `pw@host.com`, which hides the password
 * too). `/`, `:`, `?`, `=` and `&` are not local-part characters, so the rest of the URL is kept.
 * Not addresses: `@scope/pkg`, `pkg@1.2.3` (the top-level domain must be letters),
 * `user@localhost` (no dot in the domain), and ssh/scp remotes `git@github.com:owner/repo.git`,
 * `deploy@host.example.com:/srv` (`@host:` then a path: a name or `~` and a `/`, or a `/`).
 * `jane@x.com:secret` (no path) is still an address, and so is the password in
 * `https://user:pw@host.com:8443/` (a port is digits).
 */
const SOURCE = String.raw`(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,10}[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9]|:(?:[/~]|[A-Za-z_][\w.~-]*\/))`;

/** Local-part characters: A-Z a-z 0-9 . _ % + - */
function isLocal(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
    c === 46 || c === 95 || c === 37 || c === 43 || c === 45
  );
}

export const email: Detector = {
  id: 'email',
  label: 'EMAIL',
  re: new RegExp(SOURCE, 'g'),
  anchor: { literal: '@', back: isLocal, max: 64, sticky: new RegExp(SOURCE, 'y') },
};
