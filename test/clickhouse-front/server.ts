/**
 * A ClickHouse HTTP interface over chDB, run as its own process by index.ts (chDB binds one data
 * folder per process, so the test process keeps its own). Speaks what @clickhouse/client uses:
 * https://clickhouse.com/docs/interfaces/http
 *
 * - `GET|HEAD /ping` → `Ok.`
 * - `GET|POST /?query=...` with the SQL in `query`, in the body, or both (`query` + "\n" + body,
 *   which is how inserts send their rows); an `INSERT ... FORMAT RowBinary` body, binary, is
 *   written to a file the insert reads (`SELECT * FROM file()`, the table's structure)
 * - `database`, `default_format`, `query_id`, `param_<name>` (typed `{name:Type}` binding) and any
 *   other query parameter as a setting, applied for this request only
 * - credentials (basic auth, `X-ClickHouse-User`/`-Key`, `user`/`password` params) accepted, not checked
 * - gzip/deflate request bodies; responses are never compressed
 * - errors as status 500 with ClickHouse's `Code: N. DB::Exception: ...` text and
 *   `X-ClickHouse-Exception-Code`, which clickhouse-js parses into a ClickHouseError
 *
 * Env: FRONT_DATA_DIR (chDB folder), FRONT_PORT (0 = any). Prints `listening <port>` when ready.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

interface ChdbResult {
  text(): string;
  rowsRead: number;
  bytesRead: number;
}
interface ChdbSession {
  queryAsync(sql: string, opts?: { format?: string }): Promise<ChdbResult>;
  queryBindAsync(sql: string, params: Record<string, unknown>, opts?: { format?: string }): Promise<ChdbResult>;
  close(): void;
}

// chdb is a dependency of @watchllm/gateway, not of the test package: resolve it from there.
const gatewayRequire = createRequire(fileURLToPath(new URL('../../gateway/package.json', import.meta.url)));
const { Session } = gatewayRequire('chdb') as { Session: new (path: string) => ChdbSession };

const dataDir = process.env.FRONT_DATA_DIR;
if (!dataDir) throw new Error('FRONT_DATA_DIR is required');
const session = new Session(dataDir);

/** Parameters that are part of the HTTP protocol, not settings. */
const PROTOCOL = new Set(['query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'compress', 'decompress', 'role']);
/** Settings that only mean something to the HTTP server layer. */
const HTTP_ONLY = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_wait_end_of_query',
  'cancel_http_readonly_queries_on_client_close',
]);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** chDB runs one statement at a time per session; settings are per request, so requests take turns. */
let turn: Promise<unknown> = Promise.resolve();
function serially<T>(fn: () => Promise<T>): Promise<T> {
  const next = turn.then(fn, fn);
  turn = next.catch(() => undefined);
  return next;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const enc = req.headers['content-encoding'];
  let stream: Readable = req;
  if (enc === 'gzip') stream = req.pipe(createGunzip());
  else if (enc === 'deflate') stream = req.pipe(createInflate());
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `INSERT INTO t [(columns)] FORMAT <binary format>`: the table and columns, and the format. */
const BINARY_INSERT = /^\s*INSERT\s+INTO\s+([\w.`]+)\s*(\([^)]*\))?\s*FORMAT\s+(RowBinary\w*)\s*$/is;
const binaryDir = join(dataDir, 'front-inserts');
mkdirSync(binaryDir, { recursive: true });

/** A binary insert as an INSERT ... SELECT from a file holding the body (chDB's SQL text cannot carry bytes). */
function binaryInsert(head: string, body: Buffer): { sql: string; cleanup: () => void } | null {
  const m = BINARY_INSERT.exec(head);
  if (!m) return null;
  const file = join(binaryDir, `${randomUUID()}.bin`);
  writeFileSync(file, body);
  return {
    sql: `INSERT INTO ${m[1]} ${m[2] ?? ''} SELECT * FROM file('${file}', '${m[3]}')`,
    cleanup: () => rmSync(file, { force: true }),
  };
}

/** Undo the "escaped" text form clickhouse-js gives top-level String parameters. */
function unescape(value: string): string {
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', "'": "'", '\\': '\\' };
  return value.replace(/\\(.)/gs, (_m, ch: string) => map[ch] ?? ch);
}

/**
 * An `Array(String)` parameter as clickhouse-js writes it (`['a','b\\'c']`, strings quoted and
 * escaped) → the strings. chDB re-escapes a text value for transport, which would double the
 * backslashes of the quoted strings, so arrays are handed to it as arrays.
 */
function stringArray(raw: string): string[] {
  const items: string[] = [];
  const rest = raw.replace(/'((?:[^'\\]|\\.)*)'/gs, (_m, inner: string) => {
    items.push(unescape(inner));
    return '';
  });
  if (!/^\[[\s,]*\]$/.test(rest)) throw new Error(`Code: 130. DB::Exception: cannot read ${raw} as Array(String). (CANNOT_READ_ARRAY_FROM_TEXT)`);
  return items;
}

function bindings(sql: string, search: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of search) {
    if (!key.startsWith('param_')) continue;
    const name = key.slice('param_'.length);
    const type = new RegExp(`\\{${name}:([^}]+)\\}`).exec(sql)?.[1] ?? 'String';
    const base = type.replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2').replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2');
    if (raw === '\\N') out[name] = null;
    else if (/^(String|FixedString|Enum)/.test(base)) out[name] = unescape(raw);
    else if (/^Array\((LowCardinality\()?String\)?\)$/.test(base)) out[name] = stringArray(raw);
    else out[name] = raw;
  }
  return out;
}

function settingsSql(search: URLSearchParams): { set: string[]; reset: string[] } {
  const set: string[] = [];
  const reset: string[] = [];
  for (const [key, value] of search) {
    if (PROTOCOL.has(key) || HTTP_ONLY.has(key) || key.startsWith('param_') || !IDENT.test(key)) continue;
    const literal = /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    set.push(`SET ${key} = ${literal}`);
    reset.push(`SET ${key} = DEFAULT`);
  }
  return { set, reset };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://front');
  if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
    return;
  }
  const search = url.searchParams;
  const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
  const head = search.get('query');
  const binary = head !== null && raw.length > 0 ? binaryInsert(head, raw) : null;
  const body = binary ? '' : raw.toString('utf8');
  const sql = binary ? binary.sql : head === null ? body : body.length > 0 ? `${head}\n${body}` : head;
  const queryId = search.get('query_id') ?? randomUUID();
  const database = search.get('database') ?? 'default';
  const format = search.get('default_format') ?? 'TabSeparated';
  const params = bindings(sql, search);
  const { set, reset } = settingsSql(search);
  try {
    if (!IDENT.test(database)) throw new Error(`Code: 81. DB::Exception: Database ${database} does not exist. (UNKNOWN_DATABASE)`);
    const result = await serially(async () => {
      await session.queryAsync(`USE ${database}`);
      for (const s of set) await session.queryAsync(s);
      try {
        return Object.keys(params).length > 0
          ? await session.queryBindAsync(sql, params, { format })
          : await session.queryAsync(sql, { format });
      } finally {
        for (const s of reset) await session.queryAsync(s).catch(() => undefined);
      }
    });
    const summary = {
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: '0',
      written_bytes: '0',
      total_rows_to_read: '0',
      result_rows: String(result.rowsRead),
      result_bytes: String(result.bytesRead),
      elapsed_ns: '0',
    };
    res.writeHead(200, {
      'content-type': 'text/plain; charset=UTF-8',
      'x-clickhouse-query-id': queryId,
      'x-clickhouse-format': format,
      'x-clickhouse-summary': JSON.stringify(summary),
    });
    res.end(result.text());
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const code = /Code: (\d+)/.exec(message)?.[1] ?? '1001';
    res.writeHead(500, {
      'content-type': 'text/plain; charset=UTF-8',
      'x-clickhouse-query-id': queryId,
      'x-clickhouse-exception-code': code,
    });
    res.end(/Code: \d+/.test(message) ? `${message}\n` : `Code: ${code}. DB::Exception: ${message} (STD_EXCEPTION)\n`);
  } finally {
    // also when the request failed before its insert ran (a bad database name)
    binary?.cleanup();
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((e: unknown) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(e));
  });
});

server.listen(Number(process.env.FRONT_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`listening ${port}\n`);
});

function shutdown(): void {
  server.close();
  server.closeAllConnections();
  session.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// the parent went away: do not outlive it
process.on('disconnect', shutdown);
