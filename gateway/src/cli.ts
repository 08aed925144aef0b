/**
 * `pnpm watchllm keys create|list|revoke|rotate`: manage gateway keys through a running gateway's
 * admin API (an in-process key store is only reachable that way; with Redis any replica will do).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type CreateKeyBody, parseBudgetFlag } from './stores/index.ts';

export interface CliIo {
  fetch: typeof fetch;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
}

const DEFAULT_URL = 'http://127.0.0.1:8787';

const USAGE = `Usage: watchllm keys <command> [options]

Commands:
  create --project <p> [--name <n>] [--budget <usd>/<day|month>] [--rpm <n>] [--tpm <n>] [--tpd <n>]
         [--models <m1,m2>] [--no-bodies]
                                    create a key; its secret is printed once
                                    (--no-bodies: its calls are recorded without bodies)
  list [--project <p>]              list keys
  revoke <id>                       revoke a key (it stops working on every replica)
  rotate <id>                       give a key a new secret (the old one stops working)

Options:
  --url <url>    gateway base URL (default: $WATCHLLM_URL or ${DEFAULT_URL})
  --json         print the API's JSON answer instead of text
  -h, --help     show this help

The admin token is read from WATCHLLM_ADMIN_TOKEN.
`;

/** A mistake in the command line: usage is printed and the exit code is 2. */
class UsageError extends Error {}

const OPTIONS = {
  url: { type: 'string' },
  project: { type: 'string' },
  name: { type: 'string' },
  budget: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  tpd: { type: 'string' },
  models: { type: 'string' },
  'no-bodies': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Run one CLI invocation; resolves to the process exit code (0 ok, 1 failed, 2 bad usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    // pnpm forwards a literal `--` in some versions (`pnpm watchllm -- keys list`).
    const args = argv[0] === '--' ? argv.slice(1) : argv;
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  const [group, command, ...rest] = positionals;
  if (values.help || group === undefined || group === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (group !== 'keys') throw new UsageError(`unknown command "${group}"`);

  const api = adminClient(values, io);
  switch (command) {
    case 'create':
      noExtra(rest);
      return create(api, values, io);
    case 'list':
      noExtra(rest);
      return list(api, values, io);
    case 'revoke':
      return revoke(api, oneId(rest, 'revoke'), values, io);
    case 'rotate':
      return rotate(api, oneId(rest, 'rotate'), values, io);
    default:
      throw new UsageError(command === undefined ? 'missing keys command' : `unknown keys command "${command}"`);
  }
}

function noExtra(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
}

function oneId(rest: string[], command: string): string {
  const [id, extra] = rest;
  if (id === undefined) throw new UsageError(`keys ${command} needs a key id (see keys list)`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return id;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // plain digits only: Number() would take 1e3 or 0x10 for a number the user did not write
  const n = /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

type Api = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => Promise<Record<string, unknown>>;

/** One admin API call: JSON in and out; an error answer becomes an Error carrying the API's message. */
function adminClient(values: Values, io: CliIo): Api {
  const base = (values.url ?? io.env.WATCHLLM_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  // a URL without its scheme is a usage mistake (exit 2), not a gateway that is down
  if (!/^https?:\/\/[^/]/i.test(base)) throw new UsageError(`--url (or WATCHLLM_URL) must be an http(s) URL such as ${DEFAULT_URL}, got "${base}"`);
  const token = io.env.WATCHLLM_ADMIN_TOKEN;
  return async (method, path, body) => {
    if (!token) throw new Error('WATCHLLM_ADMIN_TOKEN is not set: export the admin token the gateway was started with.');
    const url = `${base}${path}`;
    let res: Response;
    try {
      res = await io.fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
      throw new Error(`cannot reach the gateway at ${base} (${cause}); is it running? Set --url or WATCHLLM_URL.`);
    }
    const text = await res.text();
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
    if (!res.ok) throw new Error(`${res.status}: ${apiMessage(payload) ?? (text.slice(0, 200) || res.statusText)}`);
    if (payload === null || typeof payload !== 'object') throw new Error(`${method} ${url} answered ${res.status} without a JSON object`);
    return payload as Record<string, unknown>;
  };
}

/** The message of an OpenAI-style error body `{"error":{"message":...}}`. */
function apiMessage(payload: unknown): string | null {
  if (payload === null || typeof payload !== 'object' || !('error' in payload)) return null;
  const { error } = payload;
  if (error === null || typeof error !== 'object' || !('message' in error) || typeof error.message !== 'string') return null;
  return error.message;
}

async function create(api: Api, values: Values, io: CliIo): Promise<number> {
  if (!values.project) throw new UsageError('keys create needs --project');
  const limits: NonNullable<CreateKeyBody['limits']> = {};
  for (const name of ['rpm', 'tpm', 'tpd'] as const) {
    const n = positiveInt(name, values[name]);
    if (n !== undefined) limits[name] = n;
  }
  let budget: CreateKeyBody['budget'];
  if (values.budget !== undefined) {
    try {
      budget = parseBudgetFlag(values.budget);
    } catch (e) {
      throw new UsageError(`--budget: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const models = values.models?.split(',').map((m) => m.trim()).filter((m) => m.length > 0);
  const body: CreateKeyBody = {
    project: values.project,
    ...(values.name !== undefined && { name: values.name }),
    ...(Object.keys(limits).length > 0 && { limits }),
    ...(budget && { budget }),
    ...(models && models.length > 0 && { allowedModels: models }),
    ...(values['no-bodies'] && { storeBodies: false }),
  };
  const created = await api('POST', '/admin/keys', body);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(
    `Created key ${str(created.id)} (project ${str(created.project)}, name ${str(created.name)})\n\n` +
      `  ${str(created.key)}\n\n` +
      'Store this key now: it is shown only once and cannot be recovered (rotate the key if it is lost).\n',
  );
  return 0;
}

async function list(api: Api, values: Values, io: CliIo): Promise<number> {
  const query = values.project ? `?project=${encodeURIComponent(values.project)}` : '';
  const answer = await api('GET', `/admin/keys${query}`);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  const data = Array.isArray(answer.data) ? (answer.data as unknown[]) : [];
  if (data.length === 0) {
    io.stdout.write(values.project ? `No keys for project ${values.project}.\n` : 'No keys.\n');
    return 0;
  }
  const rows = data.map((k) => keyRow(k !== null && typeof k === 'object' ? (k as Record<string, unknown>) : {}));
  io.stdout.write(table(['ID', 'PROJECT', 'NAME', 'STATUS', 'LIMITS', 'BUDGET', 'CREATED'], rows));
  return 0;
}

async function revoke(api: Api, id: string, values: Values, io: CliIo): Promise<number> {
  const answer = await api('DELETE', `/admin/keys/${encodeURIComponent(id)}`);
  if (values.json) io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  else io.stdout.write(`Revoked key ${str(answer.id)} at ${date(answer.revokedAt)}.\n`);
  return 0;
}

async function rotate(api: Api, id: string, values: Values, io: CliIo): Promise<number> {
  const answer = await api('POST', `/admin/keys/${encodeURIComponent(id)}/rotate`);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(
    `Rotated key ${str(answer.id)}; the previous secret no longer works.\n\n` +
      `  ${str(answer.key)}\n\n` +
      'Store this key now: it is shown only once and cannot be recovered.\n',
  );
  return 0;
}

function keyRow(k: Record<string, unknown>): string[] {
  const limits = k.limits !== null && typeof k.limits === 'object' ? (k.limits as Record<string, unknown>) : {};
  const budget = k.budget !== null && typeof k.budget === 'object' ? (k.budget as Record<string, unknown>) : null;
  const limitText = ['rpm', 'tpm', 'tpd']
    .filter((name) => typeof limits[name] === 'number')
    .map((name) => `${name}=${String(limits[name])}`)
    .join(' ');
  return [
    str(k.id),
    str(k.project),
    str(k.name),
    typeof k.revokedAt === 'number' ? `revoked ${date(k.revokedAt)}` : 'active',
    limitText || '-',
    budget ? `$${String(budget.usd)}/${String(budget.period)}` : '-',
    date(k.createdAt),
  ];
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '-' : String(v);
}

/** ms since epoch as `2030-01-02 03:04:05Z` (UTC: the same on every admin's machine). */
/** A key's creation time; keys declared in watchllm.yaml have none (0): `declared`. */
function date(v: unknown): string {
  if (v === 0) return 'declared';
  return typeof v === 'number' ? `${new Date(v).toISOString().slice(0, 19).replace('T', ' ')}Z` : '-';
}

/** Run when executed directly (`tsx gateway/src/cli.ts`, or through the package's bin link). */
function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await runCli(process.argv.slice(2), { fetch, stdout: process.stdout, stderr: process.stderr, env: process.env });
}
