import { Counter, Gauge, type Registry } from 'prom-client';
import type { WriterStats } from './writer.ts';

/**
 * Expose the writer's state on `/metrics`. Values are read from `stats()` at scrape time, so the
 * request path pays nothing. Counters advance by the difference since the last scrape.
 */
export function registerWriterMetrics(registry: Registry, writer: { stats(): WriterStats }, store?: { crashes(): number | undefined }): void {
  const gauge = (name: string, help: string, read: (s: WriterStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(writer.stats()));
      },
    });
  const counter = (name: string, help: string, read: (s: WriterStats) => number) => {
    let seen = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read(writer.stats());
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  gauge('watchllm_events_queue_depth', 'Event rows waiting in memory', (s) => s.queued);
  gauge('watchllm_events_spooled_rows', 'Event rows spooled to disk until ClickHouse is reachable', (s) => s.spooledRows);
  counter('watchllm_events_inserted_total', 'Event rows inserted into ClickHouse', (s) => s.inserted);
  counter('watchllm_events_failed_total', 'Event rows whose insert failed after retries', (s) => s.failed);
  counter('watchllm_events_dropped_total', 'Event rows lost: queue full, spool full or after close', (s) => s.dropped);
  if (store && store.crashes() !== undefined) {
    counter('watchllm_events_store_crashes_total', 'Times the embedded store process exited unexpectedly (it is started again)', () => store.crashes() ?? 0);
  }
}
