/**
 * Only the paired events on / events off comparison of `pnpm bench` (issue 3, extra-events.ts),
 * set up the way run.ts sets up the extras: the fake provider, bare and the two gateways each in
 * their own process, then `measureEventsPaired` with the same BenchContext and plan shape. For
 * working on the cost of recording without the whole bench.
 *
 *   pnpm exec tsx test/bench/events-only.ts [--warmup 2] [--seconds 4]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext } from './compare.ts';
import { eventsSection, measureEventsPaired } from './extra-events.ts';
import { Processes } from './procs.ts';
import { removeDataDirs, startBare, startFake, startGateway, type Target } from './targets.ts';

process.chdir(resolve(fileURLToPath(import.meta.url), '../../..'));
const { values: args } = parseArgs({
  options: {
    warmup: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
  },
});
const plan = { warmup: Number(args.warmup), seconds: Number(args.seconds), sliceS: 1, writerRows: 0 };
const words = Array.from({ length: 20 }, (_, i) => `word${i + 1}`).join(' ');

const procs = new Processes();
const targets: Target[] = [];
const closers: Array<() => Promise<void>> = [];
const shutdown = async (): Promise<void> => {
  await Promise.allSettled(closers.map((c) => c()));
  await procs.stopAll();
  for (const t of targets) t.cleanup?.();
};
process.once('exit', () => {
  procs.killAllNow();
  removeDataDirs();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void shutdown().finally(() => process.exit(130)));

async function main(): Promise<void> {
  const fake = await startFake(procs);
  const r = await fetch(`${fake.url}/__fake/default`, { method: 'POST', body: JSON.stringify({ text: words }) });
  if (r.status !== 200) throw new Error(`fake provider refused default scenario: ${await r.text()}`);
  const bare = await startBare(procs, fake.url);
  const gateway = await startGateway(procs, fake.url, 'gateway (events off)', false);
  const withEvents = await startGateway(procs, fake.url, 'gateway (events on)', true);
  targets.push(bare, gateway, withEvents);
  const measured = async (only: Target | null, fn: () => Promise<void>): Promise<void> => {
    const others = targets.filter((o) => o !== only && o.child);
    for (const o of others) if (o.child) procs.pause(o.child);
    try {
      await fn();
    } finally {
      for (const o of others) if (o.child) procs.resume(o.child);
    }
  };
  const ctx: BenchContext = {
    procs,
    fakeUrl: fake.url,
    targets,
    bare,
    gateway,
    connections: 32,
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: false, messages: [{ role: 'user', content: 'Say twenty words, please.' }] }),
    streamBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Say twenty words, please.' }] }),
    measured,
    closers,
  };
  const result = await measureEventsPaired(ctx, plan, []);
  process.stdout.write(`\n${eventsSection(null, result)}\n`);
}

main().then(
  () => shutdown().then(() => process.exit(0)),
  (e: unknown) => {
    process.stderr.write(`events bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    void shutdown().finally(() => process.exit(1));
  },
);
