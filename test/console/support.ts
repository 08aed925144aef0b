/**
 * Helpers for the console suites: sign in through the console's own form (as a browser would,
 * Origin header included) and read its server-rendered pages.
 */

export interface Page {
  status: number;
  headers: Headers;
  html: string;
}

/** GET a console page without following redirects. */
export async function get(url: string, cookie?: string): Promise<Page> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** Posts the sign-in form; the answer as it came (a 303 with a cookie when the token is right). */
export async function postToken(base: string, token: string, opts: { origin?: string; next?: string } = {}): Promise<Response> {
  const url = `${base}/console/login${opts.next ? `?next=${encodeURIComponent(opts.next)}` : ''}`;
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    // a browser's form post asks for HTML (SvelteKit answers JSON to its own enhanced forms)
    headers: { origin: opts.origin ?? new URL(base).origin, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ token }).toString(),
  });
}

/** Signs in and returns the `cookie` header value for later requests. */
export async function signIn(base: string, token: string): Promise<string> {
  const res = await postToken(base, token);
  const set = res.headers.getSetCookie().find((c) => c.startsWith('watchllm_console='));
  if (res.status !== 303 || !set) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return set.split(';')[0]!;
}

/** Text content of the element carrying `data-testid`, tags stripped and entities decoded. */
export function testId(html: string, id: string): string | null {
  const m = new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</(?:strong|code|span|dd|pre|p|td)>`).exec(html);
  return m ? decode(m[1]!.replace(/<[^>]*>/g, '')).trim() : null;
}

/** The request ids a list or timeline page links to, in page order. */
export function linkedRequestIds(html: string): string[] {
  return [...html.matchAll(/href="\/console\/requests\/([^"?]+)"/g)].map((m) => decodeURIComponent(m[1]!));
}

/** The rows (`<tr>` in `<tbody>`) of the table carrying `data-testid`, as their cells' text. */
export function tableRows(html: string, id: string): string[][] {
  const table = new RegExp(`<table data-testid="${id}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) =>
    [...r[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => decode(c[1]!.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim()),
  );
}

/** The `older →` link's href, decoded, or null on the last page. */
export function olderLink(html: string): string | null {
  const m = /<a href="([^"]*)" data-testid="older"/.exec(html);
  return m ? decode(m[1]!) : null;
}

export function decode(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, '&');
}
