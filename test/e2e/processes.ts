/**
 * Gateway PROCESSES for end-to-end tests that need several replicas (shared Redis, revocation
 * across replicas): each runs `gateway/src/main.ts` exactly as `pnpm start` does, configured only
 * through env and a yaml file. Every process started here is killed in `stopGatewayProcesses`
 * (call it in afterAll) and, as a last resort, when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index.ts';
import { startRedis, startRedisCluster } from '../redis/index.ts';
import { freePort } from '../support/ports.ts';

export { freePort };

export interface GatewayProcess {
  name: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The last few KB of the process's stdout and stderr, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface GatewayProcessOptions {
  name?: string;
  /** watchllm.yaml content (written to a temp file, passed as WATCHLLM_CONFIG). */
  yaml?: string;
  /** Env for the gateway, over the defaults (events off, silent log, temp data dir). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/**
 * Starts one gateway process and resolves once GET /healthz answers 200. The port is found by
 * binding port 0 and releasing it, so a start that loses the port to someone else is retried.
 *
 * @example
 * const a = await startGatewayProcess({ yaml: 'limits:\n  key:\n    rpm: 10\n', env: { WATCHLLM_REDIS_URL: redis.url } });
 * await fetch(`${a.url}/v1/chat/completions`, { ... });
 * await stopGatewayProcesses([a]);
 */
export async function startGatewayProcess(opts: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'watchllm-proc-'));
  const config = join(dir, 'watchllm.yaml');
  writeFileSync(config, opts.yaml ?? '');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(opts, await freePort(), dir, config);
    } catch (e) {
      lastError = e;
      // Only a lost port race is worth another try; anything else (bad config) fails at once.
      if (!(e instanceof Error && e.message.includes('EADDRINUSE'))) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** Stops every given process (undefined entries, from a failed beforeAll, are skipped). */
export async function stopGatewayProcesses(procs: ReadonlyArray<GatewayProcess | undefined>): Promise<void> {
  await Promise.all(procs.map((p) => p?.stop()));
}

async function launch(opts: GatewayProcessOptions, port: number, dir: string, config: string): Promise<GatewayProcess> {
  const name = opts.name ?? `gateway:${port}`;
  // The test runner's own WATCHLLM_* settings must not leak into a gateway under test.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WATCHLLM_')));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...inherited,
      PORT: String(port),
      HOST: '127.0.0.1',
      WATCHLLM_CONFIG: config,
      WATCHLLM_EVENTS: 'off',
      // CI runs many suites at once on two cores: a 100 ms Redis stall there is load, not an outage,
      // and failing open on it would admit calls uncounted.
      WATCHLLM_REDIS_TIMEOUT_MS: '2000',
      WATCHLLM_LOG_LEVEL: 'silent',
      WATCHLLM_DATA_DIR: join(dir, 'data'),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString('utf8')).slice(-4096);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => live.delete(proc));
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;

  const stop = async (graceMs = 3000): Promise<void> => {
    if (alive()) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const child: GatewayProcess = { name, url: `http://127.0.0.1:${port}`, port, output: () => tail, stop };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 45_000);
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${tail}`);
    try {
      const r = await fetch(`${child.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return child;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  proc.kill('SIGKILL');
  await exited;
  throw new Error(`${name} not ready on ${child.url}:\n${tail}`);
}

export interface Reply {
  status: number;
  headers: Headers;
  /** The whole body (a stream is read to its end). */
  text: string;
}

/**
 * POSTs a JSON body (a string is sent byte for byte, so tests can know its exact size) and reads
 * the whole answer, streamed or not.
 */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** The OpenAI-style error of a reply (`{"error":{message,type,code,param}}`), or a failure naming what came back. */
export function openaiError(r: Reply): { message: string; type: string; code: string | null; param: string | null } {
  const parsed = JSON.parse(r.text) as { error?: { message: string; type: string; code: string | null; param: string | null } };
  if (!parsed.error) throw new Error(`expected an OpenAI error body, got ${r.status}: ${r.text.slice(0, 300)}`);
  return parsed.error;
}

/**
 * Calls `probe` until `done(result)` holds, then returns that result; throws with the last result
 * after `timeoutMs`. For state that settles after a response (limits settle, revocation reaching
 * another replica), where the test waits on what a client can see rather than on a fixed sleep.
 */
export async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, { timeoutMs = 5000, intervalMs = 25 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not reached after ${timeoutMs} ms; last: ${JSON.stringify(v).slice(0, 500)}`);
    await sleep(intervalMs);
  }
}

/** Two gateway processes (A, B) sharing one real redis-server, in front of one fake provider. */
export interface Replicas {
  fake: FakeProvider;
  redis: { url: string; stop(): Promise<void> };
  a: GatewayProcess;
  b: GatewayProcess;
  stop(): Promise<void>;
}

/** Two gateway processes sharing one redis-server, or with `cluster`, a three-node Redis Cluster. */
export async function startReplicas(opts: { yaml: string; heldKey: string; adminToken: string; cluster?: boolean }): Promise<Replicas> {
  const [fake, redis] = await Promise.all([startFakeProvider(), opts.cluster ? startRedisCluster() : startRedis()]);
  const env = {
    ...(opts.cluster ? { WATCHLLM_REDIS_CLUSTER: 'true' } : {}),
    WATCHLLM_REDIS_URL: redis.url,
    WATCHLLM_OPENAI_BASE_URL: `${fake.url}/v1`,
    WATCHLLM_OPENAI_API_KEY: opts.heldKey,
    WATCHLLM_ADMIN_TOKEN: opts.adminToken,
  };
  const [a, b] = await Promise.all([
    startGatewayProcess({ name: 'A', yaml: opts.yaml, env }),
    startGatewayProcess({ name: 'B', yaml: opts.yaml, env }),
  ]);
  // Up is not ready: wait until each replica's Redis client answers (a cluster client first learns
  // the slots), so no test starts against a replica that would admit calls uncounted.
  await Promise.all(
    [a, b].map((g) =>
      until(
        () => fetch(`${g.url}/readyz`).then(async (r) => (await r.json()) as { checks?: Record<string, string> }),
        (r) => r.checks?.['redis'] === 'ok',
      ),
    ),
  );
  return {
    fake,
    redis,
    a,
    b,
    async stop() {
      await stopGatewayProcesses([a, b]);
      await Promise.all([redis.stop(), fake.close()]);
    },
  };
}
