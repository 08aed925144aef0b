/**
 * `pnpm bench`: the fake provider, the bare pass-through, the gateway (and Portkey's gateway when
 * installed) each in its own process; autocannon against each for a non-streaming and a streaming
 * chat completion; a paced-stream probe for buffering and TTFT; results printed and written to
 * docs/BENCHMARKS.md. Every child process is stopped at the end, on error and on SIGINT.
 *
 * Then one section per feature (extras.ts): the event writer alone (issue 3), the Redis-backed
 * limit check and the cache-hit path (issue 4), policy evaluation (issue 5).
 *
 *   pnpm bench [--duration 8] [--warmup 2] [--connections 32] [--writer-rows 150000] [--no-extras] [--no-docs]
 *
 * Exit code 1 when a gateway target (the one with policies included) falls below 60% of bare's
 * requests/s or buffers streams; the other feature targets are reported PASS/FAIL, not enforced.
 */
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extrasPass, extrasSection, runExtras, type BenchContext, type ExtrasResult } from './extras.ts';
import { Tally, checkOnce, runSlice } from './load.ts';
import { closeProbe, probe } from './probe.ts';
import { Processes } from './procs.ts';
import {
  failures, latestSection, probeTable, ratioTable, ratios, resultTable, writeBenchmarks,
  type ProbeRow, type Row, type RunInfo,
} from './report.ts';
import {
  PORTKEY_SKIPPED, gatewayRecordsEvents, portkeyEntry, removeDataDirs, runAlone, startBare, startFake, startGateway, startPortkey,
  type Target,
} from './targets.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
// Children are started with paths relative to the repository root (and `--import tsx` from there).
process.chdir(ROOT);
const STREAM_WORDS = 20;
const PROBE = { words: 10, delayMs: 50, samples: 5 };
/** seconds per measured slice */
const SLICE_S = 2;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'writer-rows': { type: 'string', default: '150000' },
    'no-extras': { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const writerRows = Number(args['writer-rows']);
if (![duration, warmup, connections].every((n) => Number.isFinite(n) && n >= 0) || duration === 0 || connections === 0) {
  throw new Error('--duration and --connections must be positive numbers, --warmup non-negative');
}
if (!Number.isInteger(writerRows) || writerRows <= 0) throw new Error('--writer-rows must be a positive integer');
/** The feature sections compare 2-3 targets each: half the main time per target keeps the run short. */
const EXTRA_PLAN = { warmup, seconds: Math.max(2, Math.round(duration / 2)), sliceS: 1, writerRows };

const words = (n: number): string => Array.from({ length: n }, (_, i) => `word${i + 1}`).join(' ');
const chatBody = (stream: boolean): string =>
  JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'Say twenty words, please.' }] });
const CASES = [
  { name: 'chat', body: chatBody(false) },
  { name: 'chat stream', body: chatBody(true) },
] as const;
const BASE_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

const procs = new Processes();
const targets: Target[] = [];
/** async clean-ups the feature sections register (their redis-server) */
const closers: Array<() => Promise<void>> = [];

async function shutdown(): Promise<void> {
  await Promise.allSettled(closers.map((c) => c()));
  await procs.stopAll();
  for (const t of targets) t.cleanup?.();
  await closeProbe();
}
process.once('exit', () => {
  procs.killAllNow();
  removeDataDirs();
});
// `on`, not `once`: under tsx a second SIGINT follows the first (tsx relays the signal again when
// this process's acknowledgement is late), and with no listener left tsx's own handler would exit
// at once, skipping the clean-up.
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${sig}: stopping child processes\n`);
    void shutdown().finally(() => process.exit(130));
  });
}

/** Runs `fn` with every proxy but `t` paused (see runAlone). */
const measured = (t: Target | null, fn: () => Promise<void>): Promise<void> => runAlone(procs, targets, t, fn);

async function setFakeDefault(fakeUrl: string, scenario: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${fakeUrl}/__fake/default`, { method: 'POST', body: JSON.stringify(scenario) });
  if (r.status !== 200) throw new Error(`fake provider refused default scenario: ${await r.text()}`);
}

async function main(): Promise<number> {
  const loadAvg = loadavg()[0] ?? 0;
  const skipped: string[] = [];
  // Whole-run bound: a hung child or target must not keep the bench (and its children) alive.
  const extrasS = args['no-extras'] ? 0 : 120 + 8 * (EXTRA_PLAN.warmup + EXTRA_PLAN.seconds + 1) + writerRows / 1000;
  const budgetMs = (5 * CASES.length * (warmup + duration + 2) + 120 + extrasS) * 1000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: over its ${budgetMs / 1000} s budget, stopping\n`);
    void shutdown().finally(() => process.exit(1));
  }, budgetMs);
  watchdog.unref();

  const fake = await startFake(procs);
  await setFakeDefault(fake.url, { text: words(STREAM_WORDS) });
  process.stdout.write(`fake provider on ${fake.url}\n`);

  targets.push({ name: 'direct', url: fake.url, headers: {} });
  targets.push(await startBare(procs, fake.url));
  if (gatewayRecordsEvents(ROOT)) {
    targets.push(await startGateway(procs, fake.url, 'gateway (events on)', true));
    targets.push(await startGateway(procs, fake.url, 'gateway (events off)', false));
  } else {
    targets.push(await startGateway(procs, fake.url, 'gateway', false));
    skipped.push('gateway (events on): the gateway does not record events yet (no event writer in gateway/src/server.ts or main.ts)');
  }
  const entry = portkeyEntry(ROOT);
  if (entry === null) skipped.push(PORTKEY_SKIPPED);
  else {
    try {
      targets.push(await startPortkey(procs, fake.url, entry));
    } catch (e) {
      skipped.push(`portkey: could not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  for (const s of skipped) process.stdout.write(`${s}\n`);

  // One request per target and case first: a misrouted target fails here with its answer.
  for (const t of [...targets]) {
    try {
      for (const c of CASES) await checkOnce(`${t.url}/v1/chat/completions`, { ...BASE_HEADERS, ...t.headers }, c.body);
    } catch (e) {
      if (t.name.startsWith('gateway') || t.name === 'bare' || t.name === 'direct') throw e;
      skipped.push(`${t.name}: sample request failed: ${e instanceof Error ? e.message : String(e)}`);
      targets.splice(targets.indexOf(t), 1);
    }
  }

  const rows: Row[] = [];
  const slices = Math.max(1, Math.round(duration / SLICE_S));
  process.stdout.write(
    `\n${connections} connections; per case and target: ${warmup} s warm-up, then ${duration} s measured ` +
      `in ${slices} slices run round-robin over the targets\n`,
  );
  for (const c of CASES) {
    const spec = (t: Target) => ({ url: `${t.url}/v1/chat/completions`, headers: { ...BASE_HEADERS, ...t.headers }, body: c.body, connections });
    const tallies = new Map(targets.map((t) => [t, new Tally()]));
    if (warmup > 0) for (const t of targets) await measured(t, () => runSlice(spec(t), warmup));
    for (let i = 0; i < slices; i++) {
      // Alternate the order so no target always runs right after the same neighbour.
      const order = i % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) await measured(t, () => runSlice(spec(t), duration / slices, tallies.get(t)));
    }
    for (const t of targets) {
      const load = (tallies.get(t) ?? new Tally()).result();
      rows.push({ target: t.name, caseName: c.name, load });
      process.stdout.write(
        `  ${t.name.padEnd(22)} ${c.name.padEnd(12)} ${Math.round(load.rps).toString().padStart(7)} req/s` +
          `  p50 ${load.p50.toFixed(1)} ms  p99 ${load.p99.toFixed(1)} ms\n`,
      );
    }
  }

  await setFakeDefault(fake.url, { text: words(PROBE.words), chunkDelayMs: PROBE.delayMs });
  const probes: ProbeRow[] = [];
  for (const t of targets) {
    await measured(t, async () => {
      const verdict = await probe(`${t.url}/v1/chat/completions`, { ...BASE_HEADERS, ...t.headers }, chatBody(true), PROBE);
      probes.push({ target: t.name, verdict });
    });
  }

  let extras: ExtrasResult | null = null;
  const bare = targets.find((t) => t.name === 'bare');
  const gateway = targets.find((t) => t.name === 'gateway (events off)') ?? targets.find((t) => t.name === 'gateway');
  if (!args['no-extras'] && bare && gateway) {
    const ctx: BenchContext = {
      procs, fakeUrl: fake.url, targets, bare, gateway, connections, headers: BASE_HEADERS, body: chatBody(false), streamBody: chatBody(true), measured, closers,
    };
    // The main cases' stream settings would pace every answer: back to the default answer.
    await setFakeDefault(fake.url, { text: words(STREAM_WORDS) });
    extras = await runExtras(ctx, rows, EXTRA_PLAN);
  }

  const info: RunInfo = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    loadAvg,
    connections,
    duration,
    warmup,
    streamChunks: STREAM_WORDS,
    probe: PROBE,
    skipped,
  };
  const rs = ratios(rows);
  process.stdout.write(`\n${resultTable(rows)}\n\n${ratioTable(rs)}\n\n${probeTable(probes)}\n`);
  const fails = failures(rows);
  if (fails.length > 0) process.stdout.write(`\nFailed requests:\n${fails.map((l) => `  ${l}`).join('\n')}\n`);
  const more = extras ? `\n${extrasSection(extras)}` : '';
  process.stdout.write(more);
  if (!args['no-docs']) {
    writeBenchmarks(join(ROOT, 'docs/BENCHMARKS.md'), latestSection(info, rows, probes) + more);
    process.stdout.write('\nwrote docs/BENCHMARKS.md\n');
  }
  clearTimeout(watchdog);
  const gatewayOk =
    rs.filter((r) => r.target.startsWith('gateway')).every((r) => r.pass) &&
    probes.filter((p) => p.target.startsWith('gateway')).every((p) => p.verdict.pass) &&
    (extras === null || extrasPass(extras));
  return gatewayOk ? 0 : 1;
}

main().then(
  async (code) => {
    await shutdown();
    process.exit(code);
  },
  async (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await shutdown();
    process.exit(1);
  },
);
