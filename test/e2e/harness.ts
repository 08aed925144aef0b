import { createGateway, parseConfig, type Exchange, type Gateway } from '@watchllm/gateway';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index.ts';

export interface Stack {
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
  opts: { yaml?: string; env?: Record<string, string> | ((fakeUrl: string) => Record<string, string>) } = {},
): Promise<Stack> {
  const fake = await startFakeProvider();
  const config = parseConfig(opts.yaml ?? '', {
    PORT: '0',
    WATCHLLM_OPENAI_BASE_URL: `${fake.url}/v1`,
    WATCHLLM_ANTHROPIC_BASE_URL: fake.url,
    WATCHLLM_GEMINI_BASE_URL: `${fake.url}/v1beta`,
    ...(typeof opts.env === 'function' ? opts.env(fake.url) : opts.env),
  });
  const events: Exchange[] = [];
  let waiters: Array<() => void> = [];
  const gateway = await createGateway({
    config,
    log: { info() {}, warn() {}, error() {} },
    sink: {
      record(x) {
        events.push(x);
        for (const w of waiters) w();
      },
      async close() {},
    },
  });
  const url = await gateway.listen();
  return {
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
