/**
 * Sequential requests over one keep-alive connection: no queueing in the server or the client,
 * so each latency is the time one request takes end to end, and the difference between two
 * targets isolates what one of them adds (a Redis round trip, say). Beside the latency, every
 * `server-timing` segment the target reports is kept (https://www.w3.org/TR/server-timing/).
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { percentile } from './load.ts';

export interface LatencySpec {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LatencyResult {
  /** completed 2xx answers */
  n: number;
  /** ms */
  p50: number;
  p99: number;
  /** p50 of each server-timing segment, ms */
  timings: Record<string, number>;
  failed: number;
  firstError?: string;
}

/** The slices of one target, added up. */
export class LatencyTally {
  latencies: number[] = [];
  timings = new Map<string, number[]>();
  failed = 0;
  firstError: string | undefined;

  result(): LatencyResult {
    const sorted = Float64Array.from(this.latencies).sort();
    const timings: Record<string, number> = {};
    for (const [name, ds] of this.timings) timings[name] = percentile(Float64Array.from(ds).sort(), 0.5);
    return {
      n: sorted.length,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      timings,
      failed: this.failed,
      firstError: this.firstError,
    };
  }
}

/** `gateway;dur=0.52, upstream;dur=0.30` -> [['gateway', 0.52], ['upstream', 0.3]]; entries without dur are skipped. */
export function parseServerTiming(header: string | string[] | undefined): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const entry of all.split(',')) {
    const [name, ...params] = entry.split(';').map((s) => s.trim());
    if (!name) continue;
    for (const p of params) {
      const m = /^dur=([0-9.]+)$/.exec(p);
      if (m?.[1] !== undefined) out.push([name, Number(m[1])]);
    }
  }
  return out;
}

/**
 * Sends one request after another for `seconds`; with a tally, keeps the 2xx latencies and their
 * server-timing segments (without one, the run is a discarded warm-up).
 */
export async function runSequential(spec: LatencySpec, seconds: number, tally?: LatencyTally): Promise<void> {
  const agent = new Agent({ connections: 1, keepAliveTimeout: 10_000 });
  const end = performance.now() + seconds * 1000;
  try {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await request(spec.url, { method: 'POST', headers: spec.headers, body: spec.body, dispatcher: agent });
        await res.body.dump();
        const ms = performance.now() - t0;
        if (!tally) continue;
        if (res.statusCode < 200 || res.statusCode >= 300) {
          tally.failed++;
          tally.firstError ??= `status ${res.statusCode}`;
          continue;
        }
        tally.latencies.push(ms);
        for (const [name, dur] of parseServerTiming(res.headers['server-timing'])) {
          const list = tally.timings.get(name) ?? [];
          list.push(dur);
          tally.timings.set(name, list);
        }
      } catch (e) {
        if (!tally) throw e;
        tally.failed++;
        tally.firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  } finally {
    await agent.close();
  }
}
