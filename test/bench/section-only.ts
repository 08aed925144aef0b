/**
 * What the scripts that run one section of `pnpm bench` alone share (limits-only.ts,
 * events-only.ts): the fake provider with the bench's default answer, bare and the events-off
 * gateway each in their own process (plus the events-on gateway when asked), a BenchContext shaped
 * like run.ts's, and a clean stop on exit, error or Ctrl-C.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './compare.ts';
import { Processes } from './procs.ts';
import { removeDataDirs, runAlone, startBare, startFake, startGateway, type Target } from './targets.ts';

const words = Array.from({ length: 20 }, (_, i) => `word${i + 1}`).join(' ');
const chatBody = (stream: boolean): string =>
  JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'Say twenty words, please.' }] });

/** Starts the targets, runs `section` with the context, prints what it returns, then stops everything. */
export function runSectionAlone(
  name: string,
  opts: { eventsOn?: boolean },
  section: (ctx: BenchContext) => Promise<string>,
): void {
  process.chdir(resolve(fileURLToPath(import.meta.url), '../../..'));
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

  const main = async (): Promise<void> => {
    const fake = await startFake(procs);
    const r = await fetch(`${fake.url}/__fake/default`, { method: 'POST', body: JSON.stringify({ text: words }) });
    if (r.status !== 200) throw new Error(`fake provider refused default scenario: ${await r.text()}`);
    const bare = await startBare(procs, fake.url);
    const gateway = await startGateway(procs, fake.url, 'gateway (events off)', false);
    targets.push(bare, gateway);
    if (opts.eventsOn) targets.push(await startGateway(procs, fake.url, 'gateway (events on)', true));
    const ctx: BenchContext = {
      procs,
      fakeUrl: fake.url,
      targets,
      bare,
      gateway,
      connections: 32,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
      body: chatBody(false),
      streamBody: chatBody(true),
      measured: (only, fn) => runAlone(procs, targets, only, fn),
      closers,
    };
    process.stdout.write(`\n${await section(ctx)}\n`);
  };

  main().then(
    () => shutdown().then(() => process.exit(0)),
    (e: unknown) => {
      process.stderr.write(`${name} bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      void shutdown().finally(() => process.exit(1));
    },
  );
}
