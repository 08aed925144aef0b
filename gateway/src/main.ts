import { loadConfig, loadLogLevel, ConfigError } from './config/load.ts';
import { createLogger, type Logger } from './log.ts';
import { guardUnhandledRejections } from './process-guards.ts';
import { createGateway } from './server.ts';
import { startupNotes } from './startup.ts';
import { countTokens } from './usage/estimate.ts';

/** `pnpm start`: load config, listen, stop gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let log: Logger;
  let gateway;
  try {
    log = createLogger(loadLogLevel());
    guardUnhandledRejections(log);
    const config = loadConfig();
    const configPath = process.env['WATCHLLM_CONFIG'];
    gateway = await createGateway({ config, log, ...(configPath ? { configPath } : {}) });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`watchllm: invalid configuration\n${e.message}\n`);
      process.exit(2);
    }
    // a start that cannot be made (the embedded store's folder held by another gateway, ...):
    // said, and a non-zero exit, never a process that runs on without listening
    process.stderr.write(`watchllm: could not start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  // Load tiktoken's tables now (~1-2 s, synchronous) rather than on the first stream that lacks usage.
  countTokens('warm up');
  const url = await gateway.listen();
  const notes = startupNotes(gateway.deps.config, url);
  log.info({ url, providers: [...gateway.deps.registry.ids], ...notes }, `WatchLLM gateway listening on ${url}; console: ${notes.console}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: the operator does not want to wait for in-flight calls.
      log.warn({ signal }, 'second signal: exiting now, without waiting for in-flight calls');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight calls');
    gateway.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
