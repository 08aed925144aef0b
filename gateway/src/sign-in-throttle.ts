/**
 * Failed attempts at the admin token (the admin API's bearer, the console's sign-in), counted per
 * client address: after `maxFailures` wrong tokens within `windowMs` of the first, that address is
 * refused (429, `retry-after`) until the window ends, right token or not, so a weak
 * WATCHLLM_ADMIN_TOKEN cannot be guessed at request speed. A right token clears the count.
 *
 * Per process: N replicas let an address try N times as often (still a handful a minute). The
 * table holds `maxAddresses` addresses at most, the oldest window dropped first, so an attacker
 * cycling through addresses costs bounded memory (and gains nothing: each address is limited).
 */
export interface SignInThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  maxAddresses?: number;
}

export class SignInThrottle {
  private readonly windows = new Map<string, { failures: number; endsAt: number }>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;

  constructor(opts: SignInThrottleOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxAddresses = opts.maxAddresses ?? 10_000;
  }

  /** Milliseconds until `address` may try a token again; 0 when it may now. */
  waitMs(address: string, now = Date.now()): number {
    address = throttleKey(address);
    const w = this.windows.get(address);
    if (!w) return 0;
    if (now >= w.endsAt) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.maxFailures ? w.endsAt - now : 0;
  }

  failed(address: string, now = Date.now()): void {
    address = throttleKey(address);
    const w = this.windows.get(address);
    if (w && now < w.endsAt) {
      w.failures++;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= this.maxAddresses) {
      // Map keeps insertion order: the first key is the oldest window
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { failures: 1, endsAt: now + this.windowMs });
  }

  succeeded(address: string): void {
    this.windows.delete(throttleKey(address));
  }
}

/**
 * What failures are counted under: an IPv4 address (an IPv4-mapped IPv6 one, `::ffff:203.0.113.7`,
 * as itself), or an IPv6 address's /64 network: one host is given a whole /64 and can change its
 * address within it at will, so counting each address apart would give it unlimited tries.
 */
export function throttleKey(address: string): string {
  let a = address.trim().toLowerCase();
  // as proxies write them: `[2001:db8::5]:443`, `198.51.100.7:5555`
  a = /^\[([^\]]+)\](?::\d+)?$/.exec(a)?.[1] ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(a)?.[1] ?? a;
  a = a.replace(/%.*$/, ''); // no zone id (fe80::1%eth0)
  if (!a.includes(':')) return a;
  const groups = ipv6Groups(a);
  if (groups === null) return a;
  // an IPv4-mapped address (::ffff:198.51.100.7, in any spelling) is that IPv4 address
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail read as two); null when it is none. */
function ipv6Groups(a: string): number[] | null {
  let text = a;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [b1, b2, b3, b4] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const part = (h: string | undefined) => (h ? h.split(':') : []);
  const left = part(halves[0]);
  const right = part(halves[1]);
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (fill < 0) return null;
  const all = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.map((g) => parseInt(g, 16));
}
