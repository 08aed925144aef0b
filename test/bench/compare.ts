/**
 * What the feature sections of `pnpm bench` (extras.ts) share: the run's context, and comparisons
 * of a few targets measured in round-robin slices with every other proxy paused.
 */
import { LatencyTally, runSequential, type LatencyResult } from './latency.ts';
import { Tally, runSlice, type LoadResult } from './load.ts';
import type { Processes } from './procs.ts';
import type { Target } from './targets.ts';

export interface BenchContext {
  procs: Processes;
  fakeUrl: string;
  /** every proxy target started; a section adds its own so that measuring another pauses them */
  targets: Target[];
  bare: Target;
  /** the main run's gateway with events off: no limits, no policies, in-process stores */
  gateway: Target;
  connections: number;
  /** the main non-streaming chat case */
  headers: Record<string, string>;
  body: string;
  /** the main streaming chat case */
  streamBody: string;
  /** runs `fn` with every proxy but `only` paused (all of them when `only` is null) */
  measured(only: Target | null, fn: () => Promise<void>): Promise<void>;
  /** async clean-ups (redis-server) run at the end, on error and on SIGINT */
  closers: Array<() => Promise<void>>;
}

/** Time per target in the comparisons of a section, in seconds. */
export interface ExtraPlan {
  warmup: number;
  seconds: number;
  sliceS: number;
  /** event rows the writer measurement records */
  writerRows: number;
}

/** One entry of a comparison: a target, the extra request headers it gets there, and its body (default: the chat case's). */
export interface Entry {
  label: string;
  target: Target;
  headers?: Record<string, string>;
  body?: string;
}

/** Autocannon slices over `entries`, round-robin like the main cases; one LoadResult per entry. */
export async function compareLoad(ctx: BenchContext, entries: Entry[], plan: ExtraPlan): Promise<LoadResult[]> {
  const spec = (e: Entry) => ({
    url: `${e.target.url}/v1/chat/completions`,
    headers: { ...ctx.headers, ...e.target.headers, ...e.headers },
    body: e.body ?? ctx.body,
    connections: ctx.connections,
  });
  const tallies = entries.map(() => new Tally());
  if (plan.warmup > 0) for (const e of entries) await ctx.measured(e.target, () => runSlice(spec(e), plan.warmup));
  await roundRobin(entries, plan, (e, i) => ctx.measured(e.target, () => runSlice(spec(e), plan.sliceS, tallies[i])));
  return tallies.map((t) => t.result());
}

/** Sequential requests (one connection) over `entries`, round-robin; one LatencyResult per entry. */
export async function compareLatency(ctx: BenchContext, entries: Entry[], plan: ExtraPlan): Promise<LatencyResult[]> {
  const spec = (e: Entry) => ({
    url: `${e.target.url}/v1/chat/completions`,
    headers: { ...ctx.headers, ...e.target.headers, ...e.headers },
    body: e.body ?? ctx.body,
  });
  const tallies = entries.map(() => new LatencyTally());
  if (plan.warmup > 0) for (const e of entries) await ctx.measured(e.target, () => runSequential(spec(e), plan.warmup));
  await roundRobin(entries, plan, (e, i) => ctx.measured(e.target, () => runSequential(spec(e), plan.sliceS, tallies[i])));
  return tallies.map((t) => t.result());
}

async function roundRobin(entries: Entry[], plan: ExtraPlan, run: (e: Entry, i: number) => Promise<void>): Promise<void> {
  const slices = Math.max(1, Math.round(plan.seconds / plan.sliceS));
  for (let s = 0; s < slices; s++) {
    // Alternate the order so no entry always runs right after the same neighbour.
    const order = entries.map((e, i) => [e, i] as const);
    if (s % 2 === 1) order.reverse();
    for (const [e, i] of order) await run(e, i);
  }
}

/** Starts a section's own proxy and registers it, so other measurements pause it. */
export async function adopt(ctx: BenchContext, start: Promise<Target>): Promise<Target> {
  const t = await start;
  ctx.targets.push(t);
  return t;
}

/** Stops a section's proxy once the section is done, freeing its memory for the next one. */
export async function retire(ctx: BenchContext, t: Target): Promise<void> {
  const i = ctx.targets.indexOf(t);
  if (i !== -1) ctx.targets.splice(i, 1);
  if (t.child) await ctx.procs.stop(t.child);
  t.cleanup?.();
}
