#!/usr/bin/env node
// Builds the console (vite build -> console/build) when the build is missing or older than any of
// its sources, so `pnpm start` and `pnpm test` always serve the console as the sources say, and
// pay the ~15 s build only after a change.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const built = join(root, 'build', 'handler.js');
const sources = ['src', 'static', 'svelte.config.js', 'vite.config.ts', 'package.json'];

function newest(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
const changedAt = Math.max(...sources.map((p) => newest(join(root, p))));
if (builtAt > changedAt) process.exit(0);

process.stderr.write(builtAt ? 'console: sources changed, rebuilding… ' : 'console: building the web console (first run, once)… ');
const started = Date.now();
// vite's and SvelteKit's own output is for people working on the console: shown only when the build fails
const r = spawnSync(join(root, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: root, encoding: 'utf8' });
if (r.error) throw r.error;
if (r.status !== 0) {
  process.stderr.write(`failed\n${r.stdout}${r.stderr}`);
  process.exit(r.status ?? 1);
}
process.stderr.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
