/**
 * Issue 3 in `pnpm bench`: how many events per second the writer stores into embedded chDB, and
 * what each costs in CPU, measured alone in a child process (writer-child.ts); and the gateway's
 * requests/s with events on against events off from the main cases (target: within 10%).
 */
import type { Processes } from './procs.ts';
import type { Row } from './report.ts';
import type { WriterResult } from './writer-child.ts';

export type { WriterResult } from './writer-child.ts';

export const EVENTS_TARGET = 'gateway (events on)';
export const NO_EVENTS_TARGET = 'gateway (events off)';
/** Issue 3: requests/s with events on within 10% of events off. */
export const EVENTS_MIN_RATIO = 0.9;

export interface EventsRatio {
  caseName: string;
  on: number;
  off: number;
  ratio: number;
  pass: boolean;
}

export async function measureWriter(procs: Processes, rows: number): Promise<WriterResult> {
  const out = await procs.run({
    name: 'event writer',
    args: ['--import', 'tsx', 'test/bench/writer-child.ts', '--rows', String(rows)],
    // generous: chDB start-up plus rows at a few thousand per second on a slow machine
    timeoutMs: 60_000 + rows,
  });
  const line = out.trim().split('\n').pop() ?? '';
  const r = JSON.parse(line) as WriterResult;
  if (r.stored !== r.rows) throw new Error(`writer stored ${r.stored} rows of ${r.rows} (failed ${r.failed}, dropped ${r.dropped})`);
  process.stdout.write(
    `  ${Math.round(r.rowsPerSec)} rows/s stored, ${r.cpuUsPerRow.toFixed(1)} µs CPU per row ` +
      `(fixtures ${r.fixtureCpuUsPerRow.toFixed(1)}), count() = ${r.stored}\n`,
  );
  return r;
}

/** Per case, events on as a share of events off, judged against issue 3's 10%. */
export function eventsRatios(rows: Row[]): EventsRatio[] {
  const out: EventsRatio[] = [];
  for (const on of rows.filter((r) => r.target === EVENTS_TARGET)) {
    const off = rows.find((r) => r.target === NO_EVENTS_TARGET && r.caseName === on.caseName);
    if (!off || off.load.rps === 0) continue;
    const ratio = on.load.rps / off.load.rps;
    out.push({ caseName: on.caseName, on: on.load.rps, off: off.load.rps, ratio, pass: ratio >= EVENTS_MIN_RATIO });
  }
  return out;
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');

export function eventsSection(w: WriterResult | null, rs: EventsRatio[]): string {
  const lines = ['### Issue 3: events into chDB', ''];
  if (w) {
    lines.push(
      `The event writer alone in its own process (embedded chDB, the gateway's writer settings), ` +
        `recording ${f0(w.rows)} finished exchanges as fast as it takes them (the producer waits while ` +
        `more than 20,000 rows are queued); chDB start and migrations took ${f0(w.setupMs)} ms, not counted.`,
      '',
      '| rows | stored (count()) | seconds | rows/s stored | CPU µs/row | of which fixtures | max queued | failed | dropped |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${f0(w.rows)} | ${f0(w.stored)} | ${w.seconds.toFixed(2)} | ${f0(w.rowsPerSec)} | ${w.cpuUsPerRow.toFixed(1)} | ` +
        `${w.fixtureCpuUsPerRow.toFixed(1)} | ${f0(w.maxQueued)} | ${w.failed} | ${w.dropped} |`,
      '',
    );
  }
  if (rs.length > 0) {
    lines.push(
      '| case | events on req/s | events off req/s | on / off | within 10% |',
      '|---|---:|---:|---:|:---:|',
      ...rs.map((r) => `| ${r.caseName} | ${f0(r.on)} | ${f0(r.off)} | ${(r.ratio * 100).toFixed(0)}% | ${r.pass ? 'PASS' : 'FAIL'} |`),
      '',
    );
  }
  return lines.join('\n');
}
