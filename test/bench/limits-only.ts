/**
 * Only the issue-4 section of `pnpm bench` (extra-limits.ts), set up the way run.ts sets up the
 * extras (section-only.ts). For working on the limit check without the whole bench.
 *
 *   pnpm exec tsx test/bench/limits-only.ts [--warmup 2] [--seconds 4] [--slice 1] [--check-only]
 *
 * `--check-only` skips the cache-hit comparison (the Redis limit check's added p50 only).
 */
import { parseArgs } from 'node:util';
import { limitsSection, measureLimits } from './extra-limits.ts';
import { runSectionAlone } from './section-only.ts';

const { values: args } = parseArgs({
  options: {
    warmup: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
    slice: { type: 'string', default: '1' },
    'check-only': { type: 'boolean', default: false },
  },
});
const plan = { warmup: Number(args.warmup), seconds: Number(args.seconds), sliceS: Number(args.slice), writerRows: 0 };

runSectionAlone('limits', {}, async (ctx) => limitsSection(await measureLimits(ctx, plan, { cache: !args['check-only'] })));
