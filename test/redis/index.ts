import { execFile, spawn, type ChildProcess } from 'node:child_process';
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

async function launch(port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  // stop() removes the directory; a restart after it needs it back.
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    REDIS_BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
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

/** A real Redis Cluster for tests: masters on free loopback ports, every slot assigned. */
export interface TestRedisCluster {
  /** The seed URLs of every node, comma-separated (what WATCHLLM_REDIS_URL takes with WATCHLLM_REDIS_CLUSTER). */
  url: string;
  ports: number[];
  /** Kill node `i` and start it again on its port with its cluster config: same id, same slots. */
  restartNode(i: number): Promise<void>;
  stop(): Promise<void>;
}

const REDIS_CLI = process.env.REDIS_CLI_BIN ?? '/usr/bin/redis-cli';

/**
 * Start `masters` redis-server processes in cluster mode (each with its own cluster bus port) and
 * join them with `redis-cli --cluster create`, resolved once every node reports cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'watchllm-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const args: string[][] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(kill));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, bus] = [await freePort(), await freePort()];
      const node = join(dir, String(i));
      args.push(['--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', join(node, 'nodes.conf')]);
      children.push(await launch(port, node, args[i]!));
      ports.push(port);
    }
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 15_000;
    for (const port of ports) {
      while (!(await run(REDIS_CLI, ['-p', String(port), 'cluster', 'info'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} not ok in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const restartNode = async (i: number): Promise<void> => {
    await kill(children[i]!);
    children[i] = await launch(ports[i]!, join(dir, String(i)), args[i]!);
  };
  return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), ports, restartNode, stop };
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${bin} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
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
