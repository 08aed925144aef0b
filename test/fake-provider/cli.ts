/**
 * Standalone fake provider for the benchmark and for gateway processes in other tests:
 * `tsx test/fake-provider/main.ts --port 9999 [--host 127.0.0.1] [--latency 0] [--chunk-delay 0]
 * [--keys k1,k2] [--record]`. Prints `fake provider listening on <url>` and runs until SIGINT/SIGTERM.
 * Calls are not recorded by default (a benchmark would grow memory); `--record` keeps them for
 * GET /__fake/calls.
 */
import { parseArgs } from 'node:util';
import { startFakeProvider, type FakeProvider } from './server.ts';

export async function fakeProviderCli(argv: string[]): Promise<FakeProvider> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      latency: { type: 'string' },
      'chunk-delay': { type: 'string' },
      keys: { type: 'string' },
      record: { type: 'boolean', default: false },
    },
  });
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${v}`);
    return n;
  };
  const fake = await startFakeProvider({
    port: num(values.port, 'port') ?? 0,
    host: values.host,
    latencyMs: num(values.latency, 'latency'),
    chunkDelayMs: num(values['chunk-delay'], 'chunk-delay'),
    validKeys: values.keys ? values.keys.split(',').filter(Boolean) : undefined,
    record: values.record,
  });
  process.stdout.write(`fake provider listening on ${fake.url}\n`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return fake;
}
