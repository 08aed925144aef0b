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
    const w = this.windows.get(address);
    if (!w) return 0;
    if (now >= w.endsAt) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.maxFailures ? w.endsAt - now : 0;
  }

  failed(address: string, now = Date.now()): void {
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
    this.windows.delete(address);
  }
}

/** What a refused address is told, in whole seconds (at least 1). */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
