/**
 * Turns benchmark results into the console table and the "Latest run" section of
 * docs/BENCHMARKS.md (the intro above that section is kept; the section itself is replaced).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { LoadResult } from './load.ts';
import type { ProbeVerdict } from './probe.ts';

export interface Row {
  target: string;
  caseName: string;
  load: LoadResult;
}

export interface ProbeRow {
  target: string;
  verdict: ProbeVerdict;
}

export interface RunInfo {
  date: string;
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews every number */
  loadAvg: number;
  connections: number;
  duration: number;
  warmup: number;
  streamChunks: number;
  probe: { words: number; delayMs: number; samples: number };
  skipped: string[];
}

/** The acceptance bar from issue 2: the gateway keeps at least 60% of the bare pass-through's req/s. */
export const TARGET_RATIO = 0.6;

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');

export function resultTable(rows: Row[]): string {
  const lines = [
    '| target | case | requests/s | p50 ms | p99 ms | 2xx | non-2xx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { target, caseName, load: l } of rows) {
    lines.push(`| ${target} | ${caseName} | ${f0(l.rps)} | ${f1(l.p50)} | ${f1(l.p99)} | ${l.ok} | ${l.non2xx} | ${l.errors} |`);
  }
  return lines.join('\n');
}

export interface Ratio {
  target: string;
  caseName: string;
  ratio: number;
  pass: boolean;
}

/** Every proxy target's requests/s as a share of the bare pass-through's, per case. */
export function ratios(rows: Row[]): Ratio[] {
  const out: Ratio[] = [];
  for (const r of rows) {
    if (r.target === 'bare' || r.target === 'direct') continue;
    const bare = rows.find((b) => b.target === 'bare' && b.caseName === r.caseName);
    if (!bare || bare.load.rps === 0) continue;
    const ratio = r.load.rps / bare.load.rps;
    out.push({ target: r.target, caseName: r.caseName, ratio, pass: ratio >= TARGET_RATIO });
  }
  return out;
}

export function ratioTable(rs: Ratio[]): string {
  const lines = ['| target | case | req/s vs bare | >= 60% |', '|---|---|---:|:---:|'];
  for (const r of rs) lines.push(`| ${r.target} | ${r.caseName} | ${(r.ratio * 100).toFixed(0)}% | ${r.pass ? 'PASS' : 'FAIL'} |`);
  return lines.join('\n');
}

export function probeTable(ps: ProbeRow[]): string {
  const lines = [
    '| target | TTFT ms (idle, median) | events | separate reads | spread ms (sent) | no buffering |',
    '|---|---:|---:|---:|---:|:---:|',
  ];
  for (const { target, verdict: v } of ps) {
    lines.push(`| ${target} | ${f1(v.ttftMs)} | ${v.events} | ${v.reads} | ${f0(v.spreadMs)} (${f0(v.expectedSpreadMs)}) | ${v.pass ? 'PASS' : 'FAIL'} |`);
  }
  return lines.join('\n');
}

/** Non-2xx answers and transport errors, named so a reader can tell a broken target from a slow one. */
export function failures(rows: Row[]): string[] {
  const out: string[] = [];
  for (const { target, caseName, load: l } of rows) {
    if (l.non2xx === 0 && l.errors === 0) continue;
    const codes = Object.entries(l.statuses).filter(([c]) => !c.startsWith('2')).map(([c, n]) => `${c}x${n}`).join(', ');
    out.push(`${target} / ${caseName}: ${l.non2xx} non-2xx${codes ? ` (${codes})` : ''}, ${l.errors} errors (${l.timeouts} timeouts)${l.firstError ? `, first: ${l.firstError}` : ''}`);
  }
  return out;
}

export function latestSection(info: RunInfo, rows: Row[], probes: ProbeRow[]): string {
  const fails = failures(rows);
  return [
    '## Latest run',
    '',
    `${info.date} · ${info.cpus} CPU (${info.cpuModel}) · Node ${info.node} · ${info.platform} · ` +
      `load average ${info.loadAvg.toFixed(2)} at start`,
    '',
    `Parameters: ${info.connections} connections, ${info.warmup} s warm-up + ${info.duration} s measured per case, ` +
      `streaming answers of ${info.streamChunks} content chunks sent without delay; stream probe: ` +
      `${info.probe.samples} streams per target of ${info.probe.words} content chunks, SSE events paced ${info.probe.delayMs} ms apart.`,
    '',
    resultTable(rows),
    '',
    '### Proxy throughput relative to the bare pass-through',
    '',
    ratioTable(ratios(rows)),
    '',
    '### Streaming: time to first token and buffering',
    '',
    probeTable(probes),
    '',
    ...(fails.length > 0 ? ['### Failed requests', '', ...fails.map((l) => `- ${l}`), ''] : []),
    ...(info.skipped.length > 0 ? ['### Skipped', '', ...info.skipped.map((l) => `- ${l}`), ''] : []),
  ].join('\n');
}

export const INTRO = `# Benchmarks

\`pnpm bench\` (\`test/bench/run.ts\`) measures what the gateway costs on the request path. Not part of
\`pnpm test\`: numbers depend on the machine and on what else runs on it.

## Method

- The fake provider (\`test/fake-provider\`) answers on loopback with zero latency, so every
  millisecond measured is spent in the proxies, the client and the kernel, never in a model.
- Targets, each its own process, all forwarding to the same fake: **direct** (the fake itself: the
  ceiling), **bare** (\`test/bench/bare.ts\`: \`node:http\` + undici \`request\` over a keep-alive pool,
  bodies piped both ways, no parsing: the floor any proxy pays), **gateway** (\`gateway/src/main.ts\`,
  run with tsx as \`pnpm start\` does; once it records events, twice: **events on**, the default
  shape with chDB embedded (in the gateway's store process, nice 10) and a throwaway data dir, and
  **events off**, \`WATCHLLM_EVENTS=off\`), and
  **portkey** (\`@portkey-ai/gateway\` from npm, routed to the fake with \`x-portkey-provider: openai\`
  and \`x-portkey-custom-host\`) when it is installed (\`pnpm add -w -D @portkey-ai/gateway\`).
- Load: autocannon from the bench process on 127.0.0.1 with fixed connections, for a
  non-streaming chat completion and a streaming one. Per case and target a discarded warm-up,
  then the measured time in 2 s slices run round-robin over the targets, so background load on
  the machine hits every target alike; the proxies not being measured are paused (SIGSTOP, with
  the processes they started: the events-on gateway's store process), so one target's background
  work (say, an event writer flushing, a store merging) is never charged to another. requests/s counts completed 2xx answers only; latency
  percentiles are over 2xx answers; non-2xx answers and errors are listed.
- Streaming probe: the fake paces its SSE events; the bench timestamps each event as it arrives.
  Events spread out like the fake sent them mean no buffering; the first one gives TTFT at idle.
- Feature sections, after the main cases in the same run, each measured with every other proxy
  paused:
  - **Events into chDB** (issue 3): \`test/bench/writer-child.ts\`, a process of its own, opens
    embedded chDB in a throwaway dir, runs the migrations and the gateway's event writer with the
    gateway's settings, records \`--writer-rows\` (150,000: three of its batches) exchanges from \`exchangeFixture\` as fast as
    the writer takes them (waiting while more than one and a half batches are queued), closes the writer and
    checks that \`count()\` equals the rows recorded. Rows/s run from the first record to the end of
    the last flush; CPU is the writer process's and its store process's (chDB's threads included),
    with what building the fixtures costs measured apart. Then the main run's two gateways, events on and events off,
    alone as a pair in 1 s slices at the main case's connections, the chat and the streamed case
    interleaved (on chat, off chat, on stream, off stream, then the reverse), so that the store's
    lagging work (merges land seconds after their rows) is not all charged to the case measured
    second: their requests/s ratio per case is the verdict, with the main cases' ratio beside it
    (four targets sharing 2 s slices make that one too coarse for a 10% target).
  - **Limits and cache** (issue 4): a redis-server on a free port (as \`test/redis\` starts it) and
    a gateway using it, events off, with \`limits: { user: { rpm: 100000000, tpm: 1000000000 } }\`;
    requests one at a time over one connection, alternating in round-robin slices between calls
    with \`x-watchllm-user\` (checked against the limits in Redis) and calls without it (no limit
    applies), give each kind's p50 latency, their difference, and the gateway's own
    \`server-timing\` \`limits;dur=\`. One process for both, because two identical gateway processes
    differ by up to ±0.15 ms at p50 here (where each lands on the CPUs). Then the cache-hit
    path: \`x-watchllm-cache: on\` on the fixed chat request (the first call fills the cache), for
    the Redis-backed and the in-process gateway, against bare at the main case's connections.
  - **Policies** (issue 5): \`test/bench/policy-eval.ts\`, a process of its own, times
    \`evaluateRequest\` with the loop and the realistic policy set of \`test/bench/policy-eval.ts\` on 1 KB,
    100 KB and 1 MB chat prompts; then a gateway with the same set in its \`watchllm.yaml\` against
    the gateway without policies and bare, at the main case's connections, for the chat and the
    streamed case (the set's redact policy holds back and masks streamed answer text).

**Target** (issue 2): the gateway keeps at least **60%** of the bare pass-through's requests/s in
the same run, and adds no buffering to streams. With one loopback machine, the load generator, the
fake and the proxy share the CPUs, so compare ratios within one run, not absolute numbers across
machines.

Feature targets: events on within **10%** of events off (issue 3); the Redis-backed limit check
adds under **0.3 ms** at p50 and a cache hit is faster than bare (issue 4); evaluation cost grows
linearly with the prompt and the gateway with a realistic policy set keeps at least 60% of bare
(issue 5). The exit code is 1 when a 60% bar (main gateway targets, policy gateway) or the
no-buffering probe fails; the other feature targets are reported PASS/FAIL without failing the run.
`;

/** Writes INTRO + the new section, dropping any previous "Latest run" section. */
export function writeBenchmarks(path: string, section: string): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const at = old.indexOf('\n## Latest run');
  const kept = old.startsWith('# Benchmarks') && at !== -1 ? old.slice(0, at + 1) : INTRO + '\n';
  writeFileSync(path, `${kept}${section}`);
}
