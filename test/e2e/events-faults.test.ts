import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, migrate, migrations, type ClickHouseClient } from '../../gateway/src/events/index.ts';
import { startClickHouseFront, type ClickHouseFront } from '../clickhouse-front/index.ts';
import { startStack, type Stack } from './harness.ts';
import { requestIdOf } from './events-support.ts';

/**
 * Server mode (WATCHLLM_CLICKHOUSE_URL) under the faults a network and an upgrade bring: an insert
 * whose answer is lost, a ClickHouse host that never answers, and a new version started while
 * ClickHouse is down over an older schema. One ClickHouse front, a database per test.
 */

const root = mkdtempSync(join(tmpdir(), 'watchllm-events-faults-'));
let front: ClickHouseFront;
const stacks: Stack[] = [];
const clients: ClickHouseClient[] = [];

beforeAll(async () => {
  front = await startClickHouseFront({ dataDir: join(root, 'clickhouse') });
}, 30_000);

afterAll(async () => {
  for (const s of stacks) await s.close().catch(() => {});
  for (const c of clients) await c.close().catch(() => {});
  await front?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The front's URL with another database. */
const urlFor = (db: string) => front.url.replace(/\/watchllm$/, `/${db}`);

/** A client of the test's own on `db`, to read what the gateway stored. */
function reader(db: string): ClickHouseClient {
  const c = createClickHouse({ url: urlFor(db), dataDir: root });
  clients.push(c);
  return c;
}

async function one<T>(c: ClickHouseClient, query: string): Promise<T> {
  const rs = await c.query({ query, format: 'JSONEachRow' });
  return (await rs.json<T>())[0]!;
}

async function start(db: string, dataDir: string, url = urlFor(db)): Promise<Stack> {
  const s = await startStack({
    clickhouse: true,
    yaml: 'events:\n  flush_ms: 200\n  batch_size: 4\n',
    env: { WATCHLLM_DATA_DIR: dataDir, WATCHLLM_CLICKHOUSE_URL: url },
  });
  stacks.push(s);
  return s;
}

async function stop(s: Stack): Promise<void> {
  stacks.splice(stacks.indexOf(s), 1);
  await s.close();
}

/** `n` chat calls; the ids the client got. */
async function calls(s: Stack, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-faults', ...headers },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${i}` }] }),
    });
    expect(r.status).toBe(200);
    await r.text();
    ids.push(requestIdOf(r.headers));
  }
  return ids;
}

const listen = (srv: Server | ReturnType<typeof createTcpServer>) =>
  new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));

describe('an insert that lands but whose answer is lost', () => {
  test('the retry is dropped as a duplicate by requests and by the minute rollup alike', async () => {
    const db = 'faults_acklost';
    const target = new URL(front.url);
    let inserts = 0;
    // forwards to ClickHouse; every other insert into requests is performed and its answer dropped
    const proxy = createHttpServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && !['host', 'content-length', 'transfer-encoding', 'connection', 'accept-encoding'].includes(k)) headers[k] = v;
      }
      const answer = await fetch(`http://${target.host}${req.url}`, {
        method: req.method,
        headers,
        ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      }).catch(() => null);
      if (!answer) return void req.socket.destroy();
      const body = Buffer.from(await answer.arrayBuffer());
      const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
      if (new RegExp(`^INSERT INTO ${db}\\.requests\\b`).test(query) && inserts++ % 2 === 0) {
        req.socket.destroy();
        return;
      }
      const out: Record<string, string> = {};
      answer.headers.forEach((v, k) => {
        if (!['content-length', 'transfer-encoding', 'content-encoding', 'connection'].includes(k)) out[k] = v;
      });
      res.writeHead(answer.status, out).end(body);
    });
    const port = await listen(proxy);
    try {
      const s = await start(db, join(root, 'acklost'), `http://${target.username}:${target.password}@127.0.0.1:${port}/${db}`);
      const ids = await calls(s, 12);
      await s.gateway.events!.writer.flush();
      expect(inserts).toBeGreaterThanOrEqual(2);
      const c = reader(db);
      const stored = await one<{ rows: number; ids: number }>(c, `SELECT count() AS rows, uniqExact(request_id) AS ids FROM ${db}.requests`);
      expect(stored).toEqual({ rows: ids.length, ids: ids.length });
      // what /admin/stats and the console's charts read
      expect(await one<{ n: number }>(c, `SELECT sum(requests) AS n FROM ${db}.requests_1m`)).toEqual({ n: ids.length });
      await stop(s);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  }, 60_000);
});

describe('a ClickHouse host that takes connections and never answers (a network partition)', () => {
  test('the gateway starts and stops within seconds, and the next start replays every call once', async () => {
    const sockets = new Set<Socket>();
    const hole = createTcpServer((sock) => void sockets.add(sock));
    const port = await listen(hole);
    const dataDir = join(root, 'blackhole');
    const db = 'faults_blackhole';
    let ids: string[];
    try {
      const t0 = Date.now();
      const s = await start(db, dataDir, `http://watchllm:front@127.0.0.1:${port}/${db}`);
      // was ~34 s: the start waited for the migrations' first request (30 s request timeout)
      expect(Date.now() - t0).toBeLessThan(10_000);
      ids = await calls(s, 6);
      const t1 = Date.now();
      await stop(s);
      // was ~140 s: three 30 s insert attempts before spooling, then replay probes; compose's
      // stop_grace_period is 30 s, and its SIGKILL lost what was still queued
      expect(Date.now() - t1).toBeLessThan(10_000);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => hole.close(() => r()));
    }
    expect(readdirSync(join(dataDir, 'spool')).filter((f) => f.endsWith('.ndjson')).length).toBeGreaterThan(0);

    // the network is back: the next gateway on this data dir replays the spool
    const next = await start(db, dataDir);
    const c = reader(db);
    await expect
      .poll(async () => (await one<{ n: number }>(c, `SELECT count() AS n FROM ${db}.requests`).catch(() => ({ n: -1 }))).n, { timeout: 20_000, interval: 250 })
      .toBe(ids.length);
    const rs = await c.query({ query: `SELECT request_id FROM ${db}.requests ORDER BY request_id`, format: 'JSONEachRow' });
    expect((await rs.json<{ request_id: string }>()).map((r) => r.request_id)).toEqual([...ids].sort());
    await stop(next);
  }, 60_000);
});

describe('an upgrade while ClickHouse is down', () => {
  test("rows with the new version's columns wait for its migrations, then go in: none set aside", async () => {
    const db = 'faults_upgrade';
    const dataDir = join(root, 'upgrade');
    // ClickHouse as the previous version left it: no trace_id column (migration 7)
    const old = reader(db);
    await migrate(old, { list: migrations.filter((m) => m.version <= 6) });
    await front.stop();

    const s = await start(db, dataDir);
    const ids = await calls(s, 8, { 'x-watchllm-trace-id': 'trace-upgrade' });
    await s.gateway.events!.writer.flush();
    await front.start();

    const c = reader(db);
    const traced = async () =>
      (await one<{ n: number }>(c, `SELECT count() AS n FROM ${db}.requests WHERE trace_id = 'trace-upgrade'`).catch(() => ({ n: -1 }))).n;
    await expect.poll(traced, { timeout: 40_000, interval: 250 }).toBe(ids.length);
    expect(readdirSync(join(dataDir, 'spool', 'rejected'))).toEqual([]);
    expect(await one<{ v: number }>(c, `SELECT max(version) AS v FROM ${db}.schema_migrations`)).toEqual({
      v: Math.max(...migrations.map((m) => m.version)),
    });
    await stop(s);
  }, 60_000);
});
