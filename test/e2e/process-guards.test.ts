import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { startGatewayProcess, stopGatewayProcesses, until, type GatewayProcess } from './processes.ts';

/** A stray unhandled rejection in the gateway process is logged; the gateway keeps serving. */

const STRAY = fileURLToPath(new URL('./fixtures/stray-rejection.mjs', import.meta.url));
let g: GatewayProcess | undefined;

afterAll(() => stopGatewayProcesses([g]));

test('a promise rejected with nobody listening is logged, and the gateway keeps serving', async () => {
  g = await startGatewayProcess({ env: { NODE_OPTIONS: `--import=${STRAY}`, WATCHLLM_LOG_LEVEL: 'error' } });
  await until(async () => g!.output(), (out) => out.includes('unhandled promise rejection'), { timeoutMs: 10_000, intervalMs: 100 });
  expect(g.output()).toContain('stray rejection from a dependency');
  expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
});
