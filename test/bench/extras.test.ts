import { parseConfig } from '@watchllm/gateway';
import { describe, expect, test } from 'vitest';
import { eventsRatios, eventsSection, percent } from './extra-events.ts';
import { LIMITS_YAML } from './extra-limits.ts';
import { extrasPass, type ExtrasResult } from './extras.ts';
import { parseServerTiming } from './latency.ts';
import type { LoadResult } from './load.ts';
import { POLICIES_YAML, POLICY_SET, compiledSet } from './policy-eval.ts';
import type { Row } from './report.ts';

const load = (rps: number): LoadResult => ({
  rps, p50: 1, p99: 2, ok: rps, non2xx: 0, errors: 0, timeouts: 0, seconds: 1, statuses: { '200': rps },
});

describe('bench feature sections', () => {
  test.each([
    ['gateway;dur=0.52, upstream;dur=0.30, limits;dur=0.11', [['gateway', 0.52], ['upstream', 0.3], ['limits', 0.11]]],
    ['cache;desc="hit";dur=1.5', [['cache', 1.5]]],
    ['miss, policy;dur=0.07', [['policy', 0.07]]],
    [undefined, []],
  ] as const)('parseServerTiming(%j) keeps every segment with a duration', (header, expected) => {
    expect(parseServerTiming(header)).toEqual(expected);
  });

  test('eventsRatios compares events on with events off per case against the 10% bar', () => {
    const rows: Row[] = [
      { target: 'bare', caseName: 'chat', load: load(2000) },
      { target: 'gateway (events on)', caseName: 'chat', load: load(950) },
      { target: 'gateway (events off)', caseName: 'chat', load: load(1000) },
      { target: 'gateway (events on)', caseName: 'chat stream', load: load(800) },
      { target: 'gateway (events off)', caseName: 'chat stream', load: load(1000) },
    ];
    expect(eventsRatios(rows)).toEqual([
      { caseName: 'chat', on: 950, off: 1000, ratio: 0.95, pass: true, paired: false, mainRatio: 0.95 },
      { caseName: 'chat stream', on: 800, off: 1000, ratio: 0.8, pass: false, paired: false, mainRatio: 0.8 },
    ]);
  });

  test('the events ratio is shown to a tenth and never rounded up to the bar', () => {
    expect(percent(0.898)).toBe('89.8%');
    expect(percent(0.8999)).toBe('89.9%');
    expect(percent(0.9)).toBe('90.0%');
    const text = eventsSection(null, [{ caseName: 'chat', on: 2623, off: 2921, ratio: 2623 / 2921, pass: false, paired: true, mainRatio: 0.88 }]);
    expect(text).toContain('| chat | 2,623 | 2,921 | 89.7% | FAIL | 88.0% |');
  });

  test('the limits config the bench writes limits users only, beyond what the bench can reach', () => {
    const config = parseConfig(LIMITS_YAML, {});
    expect(config.limits.user).toEqual({ rpm: 100_000_000, tpm: 1_000_000_000 });
    expect(config.limits.key).toBeUndefined();
    expect(config.limits.project).toBeUndefined();
  });

  test('the realistic policy set compiles and is accepted as the gateway config', () => {
    expect(() => compiledSet()).not.toThrow();
    expect(parseConfig(POLICIES_YAML, {}).policies).toEqual(POLICY_SET);
  });

  test.each([
    ['the policy gateway keeps 60% of bare in both cases', true, true],
    ['the policy gateway falls below 60% of bare on streams', false, false],
  ] as const)('extrasPass fails the run only on the policy gateway: %s', (_title, pass, expected) => {
    const r: ExtrasResult = {
      writer: null,
      eventsRatios: [{ caseName: 'chat', on: 1, off: 2, ratio: 0.5, pass: false, paired: true }],
      limits: null,
      policies: {
        evals: [],
        load: [
          { caseName: 'chat', label: 'bare', load: load(1000), vsBare: 1, pass: null },
          { caseName: 'chat', label: 'gateway (no policies)', load: load(500), vsBare: 0.5, pass: false },
          { caseName: 'chat', label: 'gateway + policies', load: load(700), vsBare: 0.7, pass: true },
          { caseName: 'chat stream', label: 'gateway + policies', load: load(700), vsBare: 0.7, pass },
        ],
        vsNoPolicies: { chat: 1.4, 'chat stream': 1.4 },
        policyDurP50: 0.1,
      },
      skipped: [],
    };
    expect(extrasPass(r)).toBe(expected);
  });
});
