/**
 * The no-buffering probe: with the fake pacing its stream frames `delayMs` apart, record when each
 * SSE event reaches the client. A proxy that streams passes them on spread out like the fake sent
 * them; one that buffers delivers them together at the end. The same sample gives time to first
 * token (first event after the request left) at idle, which is where a proxy's own TTFT cost shows.
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

export interface Arrivals {
  /** ms from sending the request to each SSE event's arrival, in order */
  events: number[];
  /** how many separate body chunks carried those events */
  reads: number;
}

export interface ProbeVerdict {
  pass: boolean;
  ttftMs: number;
  /** ms between the first and the last event, as received */
  spreadMs: number;
  /** ms between the first and the last event, as the fake sent them */
  expectedSpreadMs: number;
  events: number;
  reads: number;
}

// One connection reused across samples, so TTFT measures the proxy and not a TCP handshake.
const agent = new Agent({ connections: 1, keepAliveTimeout: 10_000 });

/** Streams one response and timestamps every complete SSE event (`\n\n`-terminated) on arrival. */
export async function streamArrivals(url: string, headers: Record<string, string>, body: string): Promise<Arrivals> {
  const t0 = performance.now();
  const res = await request(url, { method: 'POST', headers, body, dispatcher: agent });
  if (res.statusCode !== 200) {
    throw new Error(`stream probe: ${url} answered ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
  }
  const events: number[] = [];
  let reads = 0;
  let pending = '';
  for await (const chunk of res.body) {
    const at = performance.now() - t0;
    const before = events.length;
    pending += (chunk as Buffer).toString('utf8');
    let end: number;
    while ((end = pending.indexOf('\n\n')) !== -1) {
      if (pending.slice(0, end).includes('data:')) events.push(at);
      pending = pending.slice(end + 2);
    }
    if (events.length > before) reads++;
  }
  return { events, reads };
}

/**
 * Streaming passes when events arrive spread out over at least 60% of the time the fake took to
 * send them, in at least 60% as many separate reads as events: a buffering proxy scores ~0 on both.
 */
export function judge(a: Arrivals, delayMs: number): ProbeVerdict {
  const first = a.events[0] ?? Number.NaN;
  const last = a.events[a.events.length - 1] ?? Number.NaN;
  // Judged on the events that arrived: a proxy may hide one (the gateway drops the usage chunk it
  // asked for itself), which shortens the spread by at most one delay.
  const expectedSpreadMs = (a.events.length - 1) * delayMs;
  const spreadMs = last - first;
  const pass = a.events.length >= 3 && spreadMs >= 0.6 * expectedSpreadMs && a.reads >= 0.6 * a.events.length;
  return { pass, ttftMs: first, spreadMs, expectedSpreadMs, events: a.events.length, reads: a.reads };
}

/** Runs `samples` paced streams and keeps the median TTFT and the worst spread. */
export async function probe(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { delayMs: number; samples: number },
): Promise<ProbeVerdict> {
  const verdicts: ProbeVerdict[] = [];
  for (let i = 0; i < opts.samples; i++) verdicts.push(judge(await streamArrivals(url, headers, body), opts.delayMs));
  const ttfts = verdicts.map((v) => v.ttftMs).sort((x, y) => x - y);
  const worst = verdicts.reduce((w, v) => (v.spreadMs / v.expectedSpreadMs < w.spreadMs / w.expectedSpreadMs ? v : w));
  return { ...worst, pass: verdicts.every((v) => v.pass), ttftMs: ttfts[Math.floor(ttfts.length / 2)] ?? Number.NaN };
}

export async function closeProbe(): Promise<void> {
  await agent.close();
}
