/**
 * Issue 4 in `pnpm bench`. A real redis-server on a free port and one gateway using it, events
 * off, with per-user limits far above what the bench can send: a call carrying `x-watchllm-user`
 * is checked against them, a call without it has no limit to check. Requests one at a time over
 * one connection, alternating between the two kinds, isolate the limit check's latency (target:
 * under 0.3 ms added at p50), and the gateway's own `server-timing: limits;dur=` says what the
 * check took inside it. Then the cache-hit path, with Redis and with the in-process cache, against
 * the bare pass-through at the main case's connections (target: faster than bare).
 */
import { startRedis } from '../redis/index.ts';
import { adopt, compareLatency, compareLoad, retire, type BenchContext, type ExtraPlan } from './compare.ts';
import type { LatencyResult } from './latency.ts';
import type { LoadResult } from './load.ts';
import { startGateway, type Target } from './targets.ts';

/** Issue 4: the Redis-backed limit check adds under this much at p50. */
export const MAX_ADDED_P50_MS = 0.3;
/** Never reached by the bench: every call naming a user is checked and admitted. */
export const LIMITS_YAML = 'limits:\n  user:\n    rpm: 100000000\n    tpm: 1000000000\n';
const USER = { 'x-watchllm-user': 'bench' };
const CACHE_ON = { 'x-watchllm-cache': 'on' };
/** Seconds per latency slice: short, so that load drifting over seconds hits both targets alike. */
const LATENCY_SLICE_S = 0.5;

export interface LimitsResult {
  without: LatencyResult;
  with: LatencyResult;
  addedP50: number;
  /** p50 of the gateway's `limits;dur=` */
  limitsDurP50: number;
  pass: boolean;
  cache: Array<{ label: string; load: LoadResult; vsBare: number; pass: boolean | null }>;
}

/** `cache: false` measures the limit check only (the cache rows stay empty). */
export async function measureLimits(ctx: BenchContext, plan: ExtraPlan, opts: { cache?: boolean } = {}): Promise<LimitsResult> {
  const redis = await startRedis();
  let stopped = false;
  const stopRedis = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await redis.stop();
  };
  ctx.closers.push(stopRedis);
  // Started while the bench was being stopped: the closers may have run already.
  if (ctx.procs.stopping) {
    await stopRedis();
    throw new Error('stopping');
  }
  const env = { WATCHLLM_REDIS_URL: redis.url };
  let gateway: Target | null = null;
  try {
    gateway = await adopt(ctx, startGateway(ctx.procs, ctx.fakeUrl, 'gateway + Redis', false, { env, config: LIMITS_YAML }));
    await expectHeader(ctx, gateway.url, USER, 'x-ratelimit-limit-requests', '100000000');
    await expectHeader(ctx, gateway.url, {}, 'x-ratelimit-limit-requests', null);

    // What is measured: the same non-streamed chat request, one at a time over one keep-alive
    // connection, to one gateway (events off, warmed up, every other proxy paused), with and
    // without `x-watchllm-user`. With it, each call adds one EVALSHA (rpm + tpm of the user,
    // checked and reserved atomically) before the upstream call, the x-ratelimit-* headers, and
    // the settlement of the real token count, sent after the answer. addedP50 = p50(with) -
    // p50(without) is the end-to-end cost of all of it; `limits;dur` is the check alone as the
    // gateway times it. One process for both: two identical gateway processes differ by up to
    // ±0.15 ms at p50 on a small machine (where each lands on the CPUs), which would swamp what is
    // measured. Background load drifts over seconds, so the two alternate in short slices (ABBA
    // order) over twice the section's time: both see the same conditions.
    const latencyPlan = { ...plan, seconds: plan.seconds * 2, sliceS: LATENCY_SLICE_S };
    const [without, withLimits] = await compareLatency(
      ctx,
      [{ label: 'no limits', target: gateway }, { label: 'user limits', target: gateway, headers: USER }],
      latencyPlan,
    ) as [LatencyResult, LatencyResult];
    for (const [name, r] of [['without limits', without], ['with limits', withLimits]] as const) {
      if (r.failed > 0) throw new Error(`${name}: ${r.failed} failed requests, first: ${r.firstError ?? '?'}`);
    }
    const addedP50 = withLimits.p50 - without.p50;
    const limitsDurP50 = withLimits.timings['limits'] ?? Number.NaN;
    process.stdout.write(
      `  p50 ${without.p50.toFixed(3)} ms without limits, ${withLimits.p50.toFixed(3)} ms with: ` +
        `+${addedP50.toFixed(3)} ms (server-timing limits p50 ${limitsDurP50.toFixed(3)} ms)\n`,
    );

    const pass = addedP50 < MAX_ADDED_P50_MS;
    if (opts.cache === false) return { without, with: withLimits, addedP50, limitsDurP50, pass, cache: [] };
    // The first call fills the cache; a hit answers from it without calling the fake.
    for (const t of [gateway, ctx.gateway]) await fillCache(ctx, t.url);
    const entries = [
      { label: 'bare', target: ctx.bare },
      { label: 'gateway cache hit (Redis)', target: gateway, headers: CACHE_ON },
      { label: 'gateway cache hit (in-process)', target: ctx.gateway, headers: CACHE_ON },
    ];
    const loads = await compareLoad(ctx, entries, plan);
    const bareRps = loads[0]?.rps ?? 0;
    const cache = entries.map((e, i) => {
      const load = loads[i] as LoadResult;
      const vsBare = bareRps > 0 ? load.rps / bareRps : Number.NaN;
      return { label: e.label, load, vsBare, pass: i === 0 ? null : load.rps > bareRps };
    });
    for (const c of cache) {
      process.stdout.write(`  ${c.label.padEnd(32)} ${Math.round(c.load.rps).toString().padStart(7)} req/s  p50 ${c.load.p50.toFixed(1)} ms\n`);
    }
    return { without, with: withLimits, addedP50, limitsDurP50, pass, cache };
  } finally {
    if (gateway) await retire(ctx, gateway);
    await stopRedis();
  }
}

/** The fill is written after the answer went out, so the first hit may take a moment. */
async function fillCache(ctx: BenchContext, url: string): Promise<void> {
  await expectHeader(ctx, url, CACHE_ON, null, null);
  for (let i = 0; ; i++) {
    try {
      await expectHeader(ctx, url, CACHE_ON, 'x-watchllm-cache', 'hit');
      return;
    } catch (e) {
      if (i >= 10) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** One request; fails the section unless it answers 200 (and carries `header: value`, when given). */
async function expectHeader(
  ctx: BenchContext,
  url: string,
  extra: Record<string, string>,
  header: string | null,
  value: string | null,
): Promise<void> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...ctx.headers, ...extra },
    body: ctx.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${text.slice(0, 300)}`);
  if (header !== null && r.headers.get(header) !== value) {
    throw new Error(`${url}: expected ${header}: ${value}, got ${r.headers.get(header) ?? 'none'}`);
  }
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const f3 = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : '-');

export function limitsSection(r: LimitsResult): string {
  return [
    '### Issue 4: Redis-backed limit check and the cache-hit path',
    '',
    'One gateway with a redis-server, events off, and `limits: { user: { rpm: 100000000, tpm: 1000000000 } }`: ' +
      'calls with `x-watchllm-user` are checked against them, calls without it have no limit. ' +
      'Requests one after another over one connection (no queueing), the two kinds alternating, so the difference in p50 is what the limit check adds.',
    '',
    '| target | requests | p50 ms | p99 ms | server-timing limits p50 ms |',
    '|---|---:|---:|---:|---:|',
    `| no limits (no user) | ${r.without.n} | ${f3(r.without.p50)} | ${f3(r.without.p99)} | - |`,
    `| user limits in Redis | ${r.with.n} | ${f3(r.with.p50)} | ${f3(r.with.p99)} | ${f3(r.limitsDurP50)} |`,
    '',
    `Added p50: **${f3(r.addedP50)} ms** (target < ${MAX_ADDED_P50_MS} ms): **${r.pass ? 'PASS' : 'FAIL'}**`,
    '',
    ...(r.cache.length === 0 ? [] : cacheTable(r.cache)),
  ].join('\n');
}

function cacheTable(cache: LimitsResult['cache']): string[] {
  return [
    `Cache hits (\`x-watchllm-cache: on\`, one fixed request filled first) at the main case's connections, against bare in the same slices:`,
    '',
    '| target | requests/s | p50 ms | p99 ms | non-2xx | errors | vs bare | faster than bare |',
    '|---|---:|---:|---:|---:|---:|---:|:---:|',
    ...cache.map(
      (c) =>
        `| ${c.label} | ${f0(c.load.rps)} | ${c.load.p50.toFixed(1)} | ${c.load.p99.toFixed(1)} | ${c.load.non2xx} | ` +
        `${c.load.errors} | ${(c.vsBare * 100).toFixed(0)}% | ${c.pass === null ? '' : c.pass ? 'PASS' : 'FAIL'} |`,
    ),
    '',
  ];
}
