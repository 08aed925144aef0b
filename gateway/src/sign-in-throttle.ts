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
  const a = address.trim().toLowerCase().replace(/%.*$/, ''); // no zone id (fe80::1%eth0)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(':')) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = a.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** What a refused address is told, in whole seconds (at least 1). */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
