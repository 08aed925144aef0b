/**
 * The event writer alone, in its own process (`pnpm bench` starts it; see extra-events.ts):
 * embedded chDB in a throwaway data dir, migrations, the gateway's event writer with the gateway's
 * settings, then `--rows` finished exchanges recorded as fast as the writer takes them. Prints one
 * JSON line (WriterResult) on stdout and exits.
 *
 *   node --import tsx test/bench/writer-child.ts --rows 150000
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { exchangeFixture } from '../../gateway/src/events/fixtures.ts';
import { parseConfig } from '../../gateway/src/config/load.ts';
import { createClickHouse, createEventWriter, migrate, storeProcessId, writerOptionsFor } from '../../gateway/src/events/index.ts';
import { createLogger } from '../../gateway/src/log.ts';

export interface WriterResult {
  rows: number;
  /** count() of watchllm.requests after the final flush */
  stored: number;
  seconds: number;
  /** rows stored per second, from the first record to the end of the final flush */
  rowsPerSec: number;
  /** CPU (user + system, every thread of this process and of the store process chDB runs in) per row */
  cpuUsPerRow: number;
  /** of which building the fixtures (measured separately beforehand) */
  fixtureCpuUsPerRow: number;
  /** the largest queue depth seen */
  maxQueued: number;
  failed: number;
  dropped: number;
  /** chDB start + migrations, ms */
  setupMs: number;
}

/**
 * Above this many queued rows (one and a half of the gateway's batches) the producer waits for the
 * writer: the queue stays bounded, and a full batch is always there to drain without waiting for
 * the flush timer.
 */
const highWater = (batchSize: number): number => Math.ceil(batchSize * 1.5);
/** Rows recorded between turns of the event loop, so the writer's drains get to run. */
const CHUNK = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
/** A process's CPU (user + system, all its threads) in µs, from /proc (clock ticks of 10 ms). */
const processCpuUs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '150000' } } });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows <= 0) throw new Error('--rows must be a positive integer');
  const dataDir = mkdtempSync(join(tmpdir(), 'watchllm-bench-writer-'));
  const remove = (): void => rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  // Stopped by the bench (SIGTERM) or Ctrl-C (SIGINT): leave no data dir behind.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      remove();
      process.exit(130);
    });
  }
  try {
    const t0 = performance.now();
    const client = createClickHouse({ dataDir });
    await migrate(client);
    const setupMs = performance.now() - t0;

    // What building the fixtures costs, so it can be told apart from the writer's own work.
    const sample = Math.min(rows, 10_000);
    const b0 = cpuUs();
    let keep = 0;
    for (let i = 0; i < sample; i++) keep += exchangeFixture(rows + 1 + i).id.length;
    const fixtureCpuUsPerRow = (cpuUs() - b0) / sample;
    if (keep === 0) throw new Error('unreachable');

    // The gateway's own writer settings with its default config (batching, body cap, insert settings).
    const settings = writerOptionsFor(parseConfig('', {}).events);
    const writer = createEventWriter({ client, dataDir, ...settings, logger: createLogger('warn') });
    const HIGH_WATER = highWater(settings.batchSize ?? 1000);
    let maxQueued = 0;
    // the engine works in the gateway's store process: its CPU is the writer's too
    const store = storeProcessId(client);
    if (store === undefined) throw new Error('no store process');
    const c0 = cpuUs() + processCpuUs(store);
    const w0 = performance.now();
    for (let n = 1; n <= rows; n++) {
      writer.record(exchangeFixture(n));
      if (n % CHUNK !== 0) continue;
      await new Promise((r) => setImmediate(r));
      for (let q = writer.stats().queued; q >= HIGH_WATER; q = writer.stats().queued) {
        maxQueued = Math.max(maxQueued, q);
        await sleep(2);
      }
    }
    maxQueued = Math.max(maxQueued, writer.stats().queued);
    await writer.close();
    const seconds = (performance.now() - w0) / 1000;
    const cpu = cpuUs() + processCpuUs(store) - c0;
    const stats = writer.stats();

    const rs = await client.query({ query: 'SELECT count() AS n FROM watchllm.requests', format: 'JSONEachRow' });
    const [first] = await rs.json<{ n: number | string }>();
    await client.close();
    const result: WriterResult = {
      rows,
      stored: Number(first?.n ?? 0),
      seconds,
      rowsPerSec: rows / seconds,
      cpuUsPerRow: cpu / rows,
      fixtureCpuUsPerRow,
      maxQueued,
      failed: stats.failed,
      dropped: stats.dropped,
      setupMs,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    remove();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`writer bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
