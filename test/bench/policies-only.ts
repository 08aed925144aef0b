/**
 * Only the issue-5 section of `pnpm bench` (extra-policies.ts), set up the way run.ts sets up the
 * extras (section-only.ts). For working on policy costs without the whole bench.
 *
 *   pnpm exec tsx test/bench/policies-only.ts [--warmup 2] [--seconds 4]
 */
import { parseArgs } from 'node:util';
import { measurePolicies, policiesSection } from './extra-policies.ts';
import { runSectionAlone } from './section-only.ts';

const { values: args } = parseArgs({
  options: {
    warmup: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
  },
});
const plan = { warmup: Number(args.warmup), seconds: Number(args.seconds), sliceS: 1, writerRows: 0 };

runSectionAlone('policies', {}, async (ctx) => policiesSection(await measurePolicies(ctx, plan)));
