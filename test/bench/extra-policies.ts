/**
 * Issue 5 in `pnpm bench`: what policy evaluation costs per KB of prompt (the timing loop of
 * test/bench/policy-eval.ts, on 1 KB, 100 KB and 1 MB chat prompts, run here with every proxy paused),
 * and the gateway with the same realistic policy set against the gateway without policies and the
 * bare pass-through, at the main case's connections (target: still >= 60% of bare).
 */
import { adopt, compareLatency, compareLoad, retire, type BenchContext, type ExtraPlan } from './compare.ts';
import type { LoadResult } from './load.ts';
import { TARGET_RATIO } from './report.ts';
import { POLICIES_YAML, POLICY_SET, POLICY_TARGET, type EvalTiming } from './policy-eval.ts';
import { startGateway } from './targets.ts';

export { POLICY_TARGET } from './policy-eval.ts';

export interface PoliciesResult {
  evals: EvalTiming[];
  /** bare, gateway without policies, gateway with the set; for the chat case, then the streamed one */
  load: Array<{ caseName: 'chat' | 'chat stream'; label: string; load: LoadResult; vsBare: number; pass: boolean | null }>;
  /** the policy gateway's requests/s as a share of the gateway without policies, per case */
  vsNoPolicies: { chat: number; 'chat stream': number };
  /** p50 of the gateway's `policy;dur=` on the bench request, ms */
  policyDurP50: number;
}

export async function measurePolicies(ctx: BenchContext, plan: ExtraPlan): Promise<PoliciesResult> {
  let evals: EvalTiming[] = [];
  await ctx.measured(null, async () => {
    const out = await ctx.procs.run({ name: 'policy evaluation', args: ['--import', 'tsx', 'test/bench/policy-eval.ts'], timeoutMs: 60_000 });
    evals = JSON.parse(out.trim().split('\n').pop() ?? '[]') as EvalTiming[];
  });
  for (const e of evals) {
    process.stdout.write(`  evaluateRequest ${String(e.kb).padStart(4)} KB ${e.usPerOp.toFixed(1).padStart(10)} µs  ${e.usPerKb.toFixed(2)} µs/KB\n`);
  }

  const gw = await adopt(ctx, startGateway(ctx.procs, ctx.fakeUrl, POLICY_TARGET, false, { config: POLICIES_YAML }));
  try {
    const entries = [
      { label: 'bare', target: ctx.bare },
      { label: 'gateway (no policies)', target: ctx.gateway },
      { label: POLICY_TARGET, target: gw },
    ];
    const [timing] = await compareLatency(ctx, [{ label: gw.name, target: gw }], { ...plan, warmup: 0, seconds: plan.sliceS });
    const policyDurP50 = timing?.timings['policy'] ?? Number.NaN;
    if (!Number.isFinite(policyDurP50)) throw new Error(`${gw.name} reports no server-timing policy;dur: policies not loaded?`);
    // The streamed case: with the set's enforced redact policy, the answer text of every stream is
    // held back while it could still become a secret, masked, and re-framed.
    const load: PoliciesResult['load'] = [];
    const vsNoPolicies = { chat: Number.NaN, 'chat stream': Number.NaN };
    for (const [caseName, body] of [['chat', ctx.body], ['chat stream', ctx.streamBody]] as const) {
      const loads = await compareLoad(ctx, entries.map((e) => ({ ...e, body })), plan);
      const bareRps = loads[0]?.rps ?? 0;
      entries.forEach((e, i) => {
        const l = loads[i] as LoadResult;
        const vsBare = bareRps > 0 ? l.rps / bareRps : Number.NaN;
        load.push({ caseName, label: e.label, load: l, vsBare, pass: i === 0 ? null : vsBare >= TARGET_RATIO });
        process.stdout.write(`  ${caseName.padEnd(12)} ${e.label.padEnd(32)} ${Math.round(l.rps).toString().padStart(7)} req/s  p50 ${l.p50.toFixed(1)} ms\n`);
      });
      const noPolicies = loads[1]?.rps ?? 0;
      vsNoPolicies[caseName] = noPolicies > 0 ? (loads[2]?.rps ?? 0) / noPolicies : Number.NaN;
    }
    return { evals, load, vsNoPolicies, policyDurP50 };
  } finally {
    await retire(ctx, gw);
  }
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '-');

export function policiesSection(r: PoliciesResult): string {
  return [
    '### Issue 5: policy evaluation',
    '',
    `\`evaluateRequest\` with the realistic set of \`test/bench/policy-eval.ts\` (${POLICY_SET.length} policies: secret redaction, ` +
      'model deny list, PII detectors in shadow mode, required metadata, token cap, forbidden parameter, keywords and a ' +
      'pattern, prompt size cap) on chat prompts of prose with numbers, code, e-mail addresses and IPs:',
    '',
    '| prompt | µs per evaluation | µs per KB | runs |',
    '|---:|---:|---:|---:|',
    ...r.evals.map((e) => `| ${e.kb >= 1024 ? `${e.kb / 1024} MB` : `${e.kb} KB`} | ${e.usPerOp.toFixed(1)} | ${e.usPerKb.toFixed(2)} | ${e.n} |`),
    '',
    `The gateway with the same set in its \`watchllm.yaml\` (events off; server-timing \`policy\` p50 ` +
      `${Number.isFinite(r.policyDurP50) ? r.policyDurP50.toFixed(3) : '-'} ms on the bench request) at the main case's connections, ` +
      `against the gateway without policies and bare in the same slices; with policies it keeps ${pct(r.vsNoPolicies.chat)} of the ` +
      `gateway without them on chat, ${pct(r.vsNoPolicies['chat stream'])} on streams (where the redact policy holds back and ` +
      'masks the answer text as it streams):',
    '',
    '| case | target | requests/s | p50 ms | p99 ms | non-2xx | errors | vs bare | >= 60% of bare |',
    '|---|---|---:|---:|---:|---:|---:|---:|:---:|',
    ...r.load.map(
      (l) =>
        `| ${l.caseName} | ${l.label} | ${f0(l.load.rps)} | ${l.load.p50.toFixed(1)} | ${l.load.p99.toFixed(1)} | ${l.load.non2xx} | ` +
        `${l.load.errors} | ${pct(l.vsBare)} | ${l.pass === null ? '' : l.pass ? 'PASS' : 'FAIL'} |`,
    ),
    '',
  ].join('\n');
}
