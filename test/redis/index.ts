import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.ts';

/** A real redis-server for tests, on a free loopback port, without persistence. */
export interface TestRedis {
  url: string;
  port: number;
  /** Kill the server (as a crash would) and wait until it has exited. */
  stop(): Promise<void>;
  /**
   * Start a fresh, empty server on the same port (no persistence: all data and scripts are gone).
   * Works after `stop()` too, to bring a killed server back.
   */
  restart(): Promise<void>;
}

const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
const READY_TIMEOUT_MS = 5000;

/**
 * Start `redis-server` on a free port with `--save '' --appendonly no`, resolved once it answers
 * PING. Call `stop()` in `afterAll`.
 *
 * @example
 * let redis: TestRedis;
 * beforeAll(async () => { redis = await startRedis(); });
 * afterAll(() => redis.stop());
 */
export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'watchllm-redis-'));
  let lastError: unknown;
  // The free port is found by binding port 0 and releasing it; another process may grab it in
  // between, so a failed start is retried on a new port.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      let child = await launch(port, dir);
      const stop = async (): Promise<void> => {
        await kill(child);
      };
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: async () => {
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
        restart: async () => {
          await stop();
          child = await launch(port, dir);
        },
      };
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function launch(port: number, dir: string): Promise<ChildProcess> {
  // stop() removes the directory; a restart after it needs it back.
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    REDIS_BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => {
      live.delete(child);
      reject(new Error(`redis-server exited (${code}): ${stderr.trim()}`));
    });
    child.once('error', reject);
  });
  exited.catch(() => {});
  try {
    await Promise.race([waitForPong(port), exited]);
  } catch (err) {
    await kill(child);
    throw err;
  }
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await done;
  live.delete(child);
}


async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const finish = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => finish(false));
    sock.once('error', () => finish(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\r\n')) finish(buf.startsWith('+PONG'));
    });
  });
}
