import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ClickHouseFront {
  /** `http://user:pass@127.0.0.1:<port>/watchllm`, the `WATCHLLM_CLICKHOUSE_URL` form. */
  url: string;
  /** Kill the server: ClickHouse becomes unreachable (connections refused). */
  stop(): Promise<void>;
  /** Start it again on the same port over the same data. */
  start(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function launch(dataDir: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  // tsx is a root devDependency, so `--import tsx` resolves from the repository root.
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: ROOT,
    env: { ...process.env, FRONT_DATA_DIR: dataDir, FRONT_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening (\d+)/.exec(out);
      if (!m) return;
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve({ child, port: Number(m[1]) });
    };
    const onExit = (code: number | null) => reject(new Error(`clickhouse front exited (${code}) before listening: ${out}`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * A ClickHouse server for tests: ClickHouse's HTTP interface over chDB (server.ts), in a child
 * process so the test process can open its own chDB folder too. Lets a test run the gateway's
 * server-mode code path (`@clickhouse/client` with a URL) for real, and take ClickHouse away and
 * bring it back on the same port.
 *
 * @example
 * const front = await startClickHouseFront({ dataDir });
 * const client = createClickHouse({ url: front.url, dataDir });
 * await front.stop(); // outage
 * await front.start(); // recovery, same URL
 */
export async function startClickHouseFront(opts: { dataDir: string }): Promise<ClickHouseFront> {
  mkdirSync(opts.dataDir, { recursive: true });
  let running: { child: ChildProcess; port: number } | null = await launch(opts.dataDir, 0);
  const port = running.port;
  return {
    url: `http://watchllm:front@127.0.0.1:${port}/watchllm`,
    async stop() {
      if (!running) return;
      const { child } = running;
      running = null;
      await terminate(child);
    },
    async start() {
      if (running) return;
      running = await launch(opts.dataDir, port);
    },
  };
}
