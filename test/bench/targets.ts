/**
 * The servers under test and how to start each one, pointed at the fake provider.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Child, Processes } from './procs.ts';
import { freePort } from './procs.ts';

export interface Target {
  name: string;
  /** base URL; requests go to `${url}/v1/chat/completions` */
  url: string;
  /** extra request headers this target needs (Portkey's routing headers) */
  headers: Record<string, string>;
  child?: Child;
  cleanup?: () => void;
}

/**
 * Whether the gateway started by `pnpm start` records events (an event writer wired in main.ts or
 * server.ts); until then WATCHLLM_EVENTS changes nothing and one gateway target is enough.
 */
export function gatewayRecordsEvents(root: string): boolean {
  return ['gateway/src/main.ts', 'gateway/src/server.ts'].some((f) =>
    /createEventWriter|from '\.\/events\//.test(readFileSync(join(root, f), 'utf8')),
  );
}

/**
 * Runs `fn` with every proxy process of `targets` but `only` paused (SIGSTOP), so only `only` and
 * the fake use the CPUs; with `only` null, every proxy is paused (a measurement in a process of
 * its own).
 */
export async function runAlone(procs: Processes, targets: readonly Target[], only: Target | null, fn: () => Promise<void>): Promise<void> {
  const others = targets.filter((o) => o !== only && o.child);
  for (const o of others) if (o.child) procs.pause(o.child);
  try {
    await fn();
  } finally {
    for (const o of others) if (o.child) procs.resume(o.child);
  }
}

/** The fake provider (test/fake-provider) in its own process, answering. */
export async function startFake(procs: Processes): Promise<Child> {
  const port = await freePort();
  return procs.start({
    name: 'fake',
    args: ['--import', 'tsx', 'test/fake-provider/main.ts', '--port', String(port)],
    port,
    readyPath: '/__fake/stats',
  });
}

export async function startBare(procs: Processes, fakeUrl: string): Promise<Target> {
  const port = await freePort();
  const child = await procs.start({
    name: 'bare',
    args: ['--import', 'tsx', 'test/bench/bare.ts', '--port', String(port), '--upstream', fakeUrl],
    port,
  });
  return { name: 'bare', url: child.url, headers: {}, child };
}

/** Every gateway data dir not yet removed, so that an exit at any point can remove them all. */
const dataDirs = new Set<string>();

/**
 * Removes every gateway data dir left, synchronously (callable from an `exit` handler, after the
 * gateways were killed; retries cover a dying process's last writes).
 */
export function removeDataDirs(): void {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
  dataDirs.clear();
}

export interface GatewayOptions {
  /** watchllm.yaml text, written into the gateway's data dir and named by WATCHLLM_CONFIG */
  config?: string;
  /** more environment (WATCHLLM_REDIS_URL, ...) */
  env?: Record<string, string>;
}

export async function startGateway(
  procs: Processes,
  fakeUrl: string,
  name: string,
  events: boolean,
  opts: GatewayOptions = {},
): Promise<Target> {
  const port = await freePort();
  // Events on write to an embedded store in a throwaway data dir, so a run leaves nothing behind.
  const dataDir = mkdtempSync(join(tmpdir(), 'watchllm-bench-'));
  dataDirs.add(dataDir);
  const configEnv: Record<string, string> = {};
  if (opts.config !== undefined) {
    configEnv['WATCHLLM_CONFIG'] = join(dataDir, 'watchllm.yaml');
    writeFileSync(configEnv['WATCHLLM_CONFIG'], opts.config);
  }
  const cleanup = (): void => {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
    dataDirs.delete(dataDir);
  };
  const child = await procs.start({
    name,
    args: ['--import', 'tsx', 'gateway/src/main.ts'],
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      WATCHLLM_OPENAI_BASE_URL: `${fakeUrl}/v1`,
      WATCHLLM_ANTHROPIC_BASE_URL: fakeUrl,
      WATCHLLM_LOG_LEVEL: 'silent',
      WATCHLLM_EVENTS: events ? 'on' : 'off',
      WATCHLLM_DATA_DIR: dataDir,
      NODE_ENV: 'production',
      ...configEnv,
      ...opts.env,
    },
    port,
    readyPath: '/healthz',
    readyTimeoutMs: 60_000,
  }).catch((e: unknown) => {
    cleanup();
    throw e;
  });
  return { name, url: child.url, headers: {}, child, cleanup };
}

/** The node entry of `@portkey-ai/gateway` (its `bin`), or null when the package is not installed. */
export function portkeyEntry(root: string): string | null {
  const require = createRequire(join(root, 'package.json'));
  let pkgPath: string;
  try {
    pkgPath = require.resolve('@portkey-ai/gateway/package.json');
  } catch {
    return null;
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin?: string | Record<string, string>; main?: string };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin ? Object.values(pkg.bin)[0] : undefined;
  const entry = bin ?? 'build/start-server.js';
  return join(dirname(pkgPath), entry);
}

export async function startPortkey(procs: Processes, fakeUrl: string, entry: string): Promise<Target> {
  const port = await freePort();
  // start-server takes `--port=N`; `--headless` skips its log UI (https://github.com/Portkey-AI/gateway, src/start-server.ts).
  const child = await procs.start({
    name: 'portkey',
    args: [entry, `--port=${port}`, '--headless'],
    env: { NODE_ENV: 'production' },
    port,
    readyTimeoutMs: 60_000,
  });
  return {
    name: 'portkey',
    url: child.url,
    headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fakeUrl}/v1` },
    child,
  };
}

export const PORTKEY_SKIPPED = 'portkey: skipped: not installed (install with `pnpm add -w -D @portkey-ai/gateway`)';
