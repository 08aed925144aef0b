import { afterAll, describe, expect, test } from 'vitest';
import { startGatewayProcess, stopGatewayProcesses, type GatewayProcess } from './processes.ts';

/** WATCHLLM_LOG_LEVEL as `pnpm start` reads it: a value that is no level stops the start. */

const started: GatewayProcess[] = [];
afterAll(() => stopGatewayProcesses(started));

describe('WATCHLLM_LOG_LEVEL', () => {
  test('a value that is no level fails the start with a message naming the levels (exit 2)', async () => {
    await expect(startGatewayProcess({ env: { WATCHLLM_LOG_LEVEL: 'off' } })).rejects.toThrow(
      /exited \(2\) before it was ready:\nwatchllm: invalid configuration\nWATCHLLM_LOG_LEVEL: expected one of debug, info, warn, error, silent \(any case\), got "off"/,
    );
  }, 60_000);

  test('a level in capitals is a level: SILENT logs nothing', async () => {
    const g = await startGatewayProcess({ env: { WATCHLLM_LOG_LEVEL: 'SILENT' } });
    started.push(g);
    expect(g.output()).toBe('');
  }, 60_000);
});
