/**
 * Load with autocannon. A case's measured time is cut into short slices that run round-robin
 * over the targets, so a burst of background load on the machine hits every target alike and the
 * ratios stay meaningful; the slices of one target and case add up into one Tally.
 */
import autocannon from 'autocannon';

export interface LoadSpec {
  /** full URL of the endpoint */
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
}

export interface LoadResult {
  /** completed 2xx responses per second over the measured time */
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** status code -> count, for the error report */
  statuses: Record<string, number>;
  /** the first request error autocannon reported, if any (e.g. ECONNRESET) */
  firstError?: string;
}

/** The measured slices of one target and case, added up. */
export class Tally {
  ok = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;
  seconds = 0;
  statuses: Record<string, number> = {};
  /** ms, of 2xx answers (autocannon's own histogram also leaves errors out) */
  latencies: number[] = [];
  firstError: string | undefined;

  result(): LoadResult {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      // Completed 2xx answers over wall time: failures must not count as throughput.
      rps: this.seconds > 0 ? this.ok / this.seconds : 0,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      ok: this.ok,
      non2xx: this.non2xx,
      errors: this.errors,
      timeouts: this.timeouts,
      seconds: this.seconds,
      statuses: this.statuses,
      firstError: this.firstError,
    };
  }
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Runs autocannon for `seconds`; with a tally, adds the slice to it (without one, the run is a
 * discarded warm-up: JIT, connection pools, tsx compiling lazily imported modules).
 */
export async function runSlice(spec: LoadSpec, seconds: number, tally?: Tally): Promise<void> {
  const latencies: number[] = [];
  let firstError: string | undefined;
  const instance = autocannon({
    url: spec.url,
    method: 'POST',
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: seconds,
    timeout: 10,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  instance.on('reqError', (err) => {
    firstError ??= err.message;
  });
  const r = await instance;
  if (!tally) return;
  tally.ok += r['2xx'];
  tally.non2xx += r.non2xx;
  tally.errors += r.errors;
  tally.timeouts += r.timeouts;
  tally.seconds += r.duration;
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) {
    tally.statuses[code] = (tally.statuses[code] ?? 0) + Number(count);
  }
  for (const ms of latencies) tally.latencies.push(ms);
  tally.firstError ??= firstError;
}

/** One sample request, so a misconfigured target fails fast with its answer instead of seconds of 4xx. */
export async function checkOnce(url: string, headers: Record<string, string>, body: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${text.slice(0, 500)}`);
}
