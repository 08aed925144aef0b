/**
 * The sections of `pnpm bench` that measure one feature each (issues 3, 4 and 5): the event
 * writer alone, the Redis-backed limit check and the cache-hit path, policy evaluation. They run
 * after the main cases, in the same run, with the same rule: whatever is measured runs alone,
 * every other proxy paused. A section that cannot run is reported as skipped, not fatal.
 */
import { EVENTS_TARGET, eventsRatios, eventsSection, measureEventsPaired, measureWriter, type EventsRatio, type WriterResult } from './extra-events.ts';
import { limitsSection, measureLimits, type LimitsResult } from './extra-limits.ts';
import { POLICY_TARGET, measurePolicies, policiesSection, type PoliciesResult } from './extra-policies.ts';
import type { BenchContext, ExtraPlan } from './compare.ts';
export type { BenchContext, ExtraPlan } from './compare.ts';
import type { Row } from './report.ts';

export interface ExtrasResult {
  writer: WriterResult | null;
  eventsRatios: EventsRatio[];
  limits: LimitsResult | null;
  policies: PoliciesResult | null;
  skipped: string[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e));

/** Runs the three sections in turn; a failing one is listed under skipped with its reason. */
export async function runExtras(ctx: BenchContext, rows: Row[], plan: ExtraPlan): Promise<ExtrasResult> {
  const out: ExtrasResult = { writer: null, eventsRatios: eventsRatios(rows), limits: null, policies: null, skipped: [] };
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  if (out.eventsRatios.length === 0) out.skipped.push(`events on vs off: no "${EVENTS_TARGET}" target in this run`);
  try {
    log(`\nissue 3: event writer alone, ${plan.writerRows} rows into chDB (own process)`);
    await ctx.measured(null, async () => {
      out.writer = await measureWriter(ctx.procs, plan.writerRows);
    });
  } catch (e) {
    out.skipped.push(`events/s into chDB: ${message(e)}`);
  }
  if (out.eventsRatios.length > 0) {
    try {
      log('issue 3: events on vs off, the two gateways alone in 1 s slices');
      out.eventsRatios = await measureEventsPaired(ctx, plan, out.eventsRatios);
    } catch (e) {
      out.skipped.push(`events on vs off, paired: ${message(e)}`);
    }
  }
  try {
    log('issue 4: Redis-backed limits (sequential, 1 connection) and the cache-hit path');
    out.limits = await measureLimits(ctx, plan);
  } catch (e) {
    out.skipped.push(`limits and cache: ${message(e)}`);
  }
  try {
    log('issue 5: policy evaluation and the gateway with a realistic policy set');
    out.policies = await measurePolicies(ctx, plan);
  } catch (e) {
    out.skipped.push(`policies: ${message(e)}`);
  }
  return out;
}

export function extrasSection(r: ExtrasResult): string {
  return [
    eventsSection(r.writer, r.eventsRatios),
    ...(r.limits ? [limitsSection(r.limits)] : []),
    ...(r.policies ? [policiesSection(r.policies)] : []),
    ...(r.skipped.length > 0 ? ['### Sections skipped', '', ...r.skipped.map((s) => `- ${s}`), ''] : []),
  ].join('\n');
}

/** The extras' verdict that `pnpm bench` enforces: the policy gateway within the throughput target. */
export function extrasPass(r: ExtrasResult): boolean {
  return r.policies === null || r.policies.load.every((l) => l.label !== POLICY_TARGET || l.pass === true);
}

