import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, parseConfig, type Exchange, type Gateway, type GatewayOptions } from '@watchllm/gateway';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index.ts';
import type { FakeProviderOptions } from '../fake-provider/server.ts';

export interface Stack {
  /** The watchllm.yaml the gateway watches, when started with `configFile`. */
  configPath: string | undefined;
  fake: FakeProvider;
  gateway: Gateway;
  /** Gateway base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Every exchange the gateway emitted, in order. */
  events: Exchange[];
  /** Resolves once `n` events have been emitted (events are emitted after the response ends). */
  waitForEvents(n: number): Promise<Exchange[]>;
  close(): Promise<void>;
}

/**
 * A gateway (in this process, listening on a free port) in front of the fake provider, which speaks
 * OpenAI, Anthropic and Gemini on one port. Events go to an in-memory sink the tests read.
 */
export async function startStack(
  opts: {
    /** watchllm.yaml text; a function gets the fake provider's URL (for providers declared in it). */
    yaml?: string | ((fakeUrl: string) => string);
    env?: Record<string, string> | ((fakeUrl: string) => Record<string, string>);
    /**
     * Record events in ClickHouse like production (embedded chDB in a fresh temp data dir unless
     * WATCHLLM_DATA_DIR / WATCHLLM_CLICKHOUSE_URL are given); `events` then stays empty: query
     * `gateway.events.client` after `gateway.events.writer.flush()`.
     */
    clickhouse?: boolean;
    /** Options of the fake provider (e.g. `validKeys`: any other key is refused as each provider does). */
    fake?: FakeProviderOptions;
    /** Write `yaml` to a file and hand its path to the gateway as WATCHLLM_CONFIG (policies hot-reload from it). */
    configFile?: boolean;
    /** The gateway's logger (default: logs nothing). */
    log?: GatewayOptions['log'];
  } = {},
): Promise<Stack> {
  const fake = await startFakeProvider(opts.fake);
  const yaml = typeof opts.yaml === 'function' ? opts.yaml(fake.url) : (opts.yaml ?? '');
  const config = parseConfig(yaml, {
    PORT: '0',
    WATCHLLM_OPENAI_BASE_URL: `${fake.url}/v1`,
    WATCHLLM_ANTHROPIC_BASE_URL: fake.url,
    WATCHLLM_GEMINI_BASE_URL: `${fake.url}/v1beta`,
    WATCHLLM_DATA_DIR: mkdtempSync(join(tmpdir(), 'watchllm-e2e-')),
    // CI runs many suites at once on two cores: a 100 ms Redis stall there is load, not an outage.
    WATCHLLM_REDIS_TIMEOUT_MS: '2000',
    ...(typeof opts.env === 'function' ? opts.env(fake.url) : opts.env),
  });
  let configPath: string | undefined;
  if (opts.configFile) {
    configPath = join(mkdtempSync(join(tmpdir(), 'watchllm-cfg-')), 'watchllm.yaml');
    writeFileSync(configPath, yaml);
  }
  const events: Exchange[] = [];
  let waiters: Array<() => void> = [];
  const gateway = await createGateway({
    config,
    log: opts.log ?? { info() {}, warn() {}, error() {} },
    ...(configPath ? { configPath } : {}),
    ...(opts.clickhouse
      ? {}
      : {
          sink: {
            record(x: Exchange) {
              events.push(x);
              for (const w of waiters) w();
            },
            async close() {},
          },
        }),
  });
  const url = await gateway.listen();
  return {
    configPath,
    fake,
    gateway,
    url,
    events,
    waitForEvents(n) {
      if (events.length >= n) return Promise.resolve(events.slice(0, n));
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`expected ${n} events, have ${events.length}`)), 5000);
        const check = () => {
          if (events.length >= n) {
            clearTimeout(t);
            waiters = waiters.filter((w) => w !== check);
            resolve(events.slice(0, n));
          }
        };
        waiters.push(check);
      });
    },
    async close() {
      await gateway.close();
      await fake.close();
    },
  };
}

/** The last exchange emitted. */
export function last(s: Stack): Exchange {
  const x = s.events.at(-1);
  if (!x) throw new Error('no event emitted');
  return x;
}

/**
 * Reads the first chunk of a streamed answer, closes the gateway while the stream runs, and reads
 * on to the end: what the client got after the shutdown began (the stream's last events).
 */
export async function shutDownMidStream(s: Stack, r: Response): Promise<string> {
  const reader = r.body!.getReader();
  await reader.read(); // the stream is flowing
  const closing = s.gateway.close();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await closing;
  return text;
}
