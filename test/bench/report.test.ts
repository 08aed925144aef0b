import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { percentile, type LoadResult } from './load.ts';
import { judge } from './probe.ts';
import { ratios, writeBenchmarks, type Row } from './report.ts';

const load = (rps: number): LoadResult => ({
  rps, p50: 1, p99: 2, ok: rps, non2xx: 0, errors: 0, timeouts: 0, seconds: 1, statuses: { '200': rps },
});

describe('bench helpers', () => {
  test.each([
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4], 0.99, 4],
    [[7], 0.5, 7],
  ] as const)('percentile of %j at %d is the nearest rank %d', (values, q, expected) => {
    expect(percentile(Float64Array.from(values), q)).toBe(expected);
  });

  test('ratios compare each proxy to bare in the same case and apply the 60% bar', () => {
    const rows: Row[] = [
      { target: 'direct', caseName: 'chat', load: load(10_000) },
      { target: 'bare', caseName: 'chat', load: load(1000) },
      { target: 'gateway', caseName: 'chat', load: load(700) },
      { target: 'bare', caseName: 'chat stream', load: load(1000) },
      { target: 'gateway', caseName: 'chat stream', load: load(500) },
    ];
    expect(ratios(rows)).toEqual([
      { target: 'gateway', caseName: 'chat', ratio: 0.7, pass: true },
      { target: 'gateway', caseName: 'chat stream', ratio: 0.5, pass: false },
    ]);
  });

  test.each([
    ['events spread out as sent', { events: [2, 52, 102, 152, 202], reads: 5 }, true],
    ['all events in one read at the end', { events: [200, 200, 200, 200, 200], reads: 1 }, false],
  ] as const)('stream probe: %s', (_title, arrivals, pass) => {
    expect(judge({ events: [...arrivals.events], reads: arrivals.reads }, 50)).toMatchObject({ pass, events: 5, expectedSpreadMs: 200 });
  });

  test('writeBenchmarks replaces the previous "Latest run" section and keeps the intro', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const path = join(dir, 'BENCHMARKS.md');
    try {
      writeFileSync(path, '# Benchmarks\n\nhand-written intro\n\n## Latest run\n\nold numbers\n');
      writeBenchmarks(path, '## Latest run\n\nnew numbers\n');
      expect(readFileSync(path, 'utf8')).toBe('# Benchmarks\n\nhand-written intro\n\n## Latest run\n\nnew numbers\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
