/**
 * Only the paired events on / events off comparison of `pnpm bench` (issue 3, extra-events.ts),
 * set up the way run.ts sets up the extras (section-only.ts). For working on the cost of recording
 * without the whole bench.
 *
 *   pnpm exec tsx test/bench/events-only.ts [--warmup 2] [--seconds 4]
 */
import { parseArgs } from 'node:util';
import { eventsSection, measureEventsPaired } from './extra-events.ts';
import { runSectionAlone } from './section-only.ts';

const { values: args } = parseArgs({
  options: {
    warmup: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
  },
});
const plan = { warmup: Number(args.warmup), seconds: Number(args.seconds), sliceS: 1, writerRows: 0 };

runSectionAlone('events', { eventsOn: true }, async (ctx) => eventsSection(null, await measureEventsPaired(ctx, plan, [])));
