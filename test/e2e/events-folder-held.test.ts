import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { freePort, startGatewayProcess, stopGatewayProcesses, type GatewayProcess } from './processes.ts';

/**
 * Two gateways on one data dir with the embedded store: chDB opens a folder in one process only.
 * The second must not run on without its events (or spool them forever): it says why and exits.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'watchllm-held-'));
let first: GatewayProcess | undefined;

afterAll(async () => {
  await stopGatewayProcesses([first]);
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
});

test('a second gateway on a data dir whose embedded store another gateway holds exits 1, naming the folder', async () => {
  first = await startGatewayProcess({ env: { WATCHLLM_EVENTS: 'on', WATCHLLM_DATA_DIR: dataDir } });
  const port = await freePort();
  const second = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WATCHLLM_EVENTS: 'on', WATCHLLM_DATA_DIR: dataDir, WATCHLLM_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  second.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  second.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const timer = setTimeout(() => second.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  expect(code).toBe(1);
  expect(out).toContain(`watchllm: could not start: the embedded events store could not open ${join(dataDir, 'clickhouse')}`);
  // the first one is untouched
  expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
}, 60_000);
