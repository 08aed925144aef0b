import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../log.ts';
import { configSchema, type Config } from './schema.ts';

/** A config problem, with the file position when there is a file. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Loads watchllm.yaml (path in WATCHLLM_CONFIG, optional) and applies env overrides.
 * Errors name the file, line and column of the bad value and say what was expected.
 */
export function loadConfig(env: Env = process.env): Config {
  const path = env['WATCHLLM_CONFIG'];
  let raw = '';
  try {
    raw = path ? readFileSync(path, 'utf8') : '';
  } catch (e) {
    // a typo in the path is a configuration error like any other, not a stack trace
    throw new ConfigError(`WATCHLLM_CONFIG: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseConfig(raw, env, path ?? '<env>');
}

/** WATCHLLM_LOG_LEVEL (default `info`); anything but a level, in any case, is a ConfigError. */
export function loadLogLevel(env: Env = process.env): LogLevel {
  const raw = env['WATCHLLM_LOG_LEVEL'];
  if (raw === undefined || raw === '') return 'info';
  const level = parseLogLevel(raw);
  if (level === null) throw new ConfigError(`WATCHLLM_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')} (any case), got ${JSON.stringify(raw)}`);
  return level;
}

export function parseConfig(text: string, env: Env, source = 'watchllm.yaml'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    // the position leads the line already; yaml's message repeats it, then shows the spot on further lines
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message}`);
  }
  const value: unknown = doc.toJS() ?? {};
  const fromEnv = new Map<string, string>();
  const withEnv = applyEnv(value, env, fromEnv);
  const result = configSchema.safeParse(withEnv);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => describe(i, doc, lineCounter, source, fromEnv)).join('\n'));
}

function describe(
  issue: z.core.$ZodIssue,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  source: string,
  fromEnv: ReadonlyMap<string, string>,
): string {
  const path = issue.path.map(String);
  // A value an env variable set is that variable's problem, wherever the file had one (env wins).
  const envName = fromEnv.get(path.join('.'));
  if (envName !== undefined) return `${envName} (${path.join('.')}): ${issue.message}`;
  let message = issue.message;
  // Point an unknown key at the key itself, not at the object holding it, with the key it may stand for.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
    const key = issue.keys[0]!;
    const near = closest(key, keysAt(configSchema, path));
    if (near !== null) message = `${message} (did you mean "${near}"?)`;
    path.push(key);
  }
  return locate(path, message, doc, lines, source, issue.code === 'unrecognized_keys');
}

/** The keys an object schema at `path` of `schema` takes (records and wrappers looked through). */
export function keysAt(schema: z.ZodType, path: readonly string[]): string[] {
  type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[] };
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  switch (def.type) {
    case 'object': {
      if (path.length === 0) return Object.keys(def.shape ?? {});
      const next = def.shape?.[path[0]!];
      return next ? keysAt(next, path.slice(1)) : [];
    }
    case 'record':
      return path.length === 0 || !def.valueType ? [] : keysAt(def.valueType, path.slice(1));
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
      return def.innerType ? keysAt(def.innerType, path) : [];
    case 'pipe':
      return def.in ? keysAt(def.in, path) : [];
    case 'union':
      return [...new Set((def.options ?? []).flatMap((o) => keysAt(o, path)))];
    default:
      return [];
  }
}

/** The candidate at most two edits from `word` (a typo: `rmp` for `rpm`, `limit` for `limits`), if one is nearest. */
function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** `file:line:col: a.b.c: message`, at the deepest part of `path` that exists in the file. */
export function locate(
  path: ReadonlyArray<string | number>,
  message: string,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  source: string,
  atKey = false,
): string {
  const keys = path.map(String);
  // Walk up the path until a node exists in the file (an env value or a missing key has none).
  for (let n = keys.length; n >= 0; n--) {
    const offset = nodeOffset(doc, keys.slice(0, n), atKey && n === keys.length);
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return `${source}:${line}:${col}: ${keys.join('.') || '(root)'}: ${message}`;
    }
  }
  return `${source}: ${keys.join('.') || '(root)'}: ${message}`;
}

/**
 * Where a path starts in the file: its value (so `foo: bad` points at `bad`), or with `key` the key
 * itself (an unknown key is the key's problem; its value may start on the next line).
 */
function nodeOffset(doc: ReturnType<typeof parseDocument>, path: readonly string[], key: boolean): number | undefined {
  if (key && path.length > 0) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === path.at(-1));
      const at = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
      if (at !== undefined) return at;
    }
  }
  const node = doc.getIn([...path], true) as { range?: [number, number, number] } | undefined;
  return node?.range?.[0];
}

const number = (v: string): unknown => Number(v);
const flag = (v: string): unknown => /^(1|true|yes|on)$/i.test(v);
const notOff = (v: string): unknown => !/^(off|false|0|no)$/i.test(v);
/** A count of proxies, or a flag (true = one). */
const hops = (v: string): unknown => (/^\d+$/.test(v) ? Number(v) : flag(v));

/** Each setting an env variable overrides: the variable, where it goes, how its text is read. */
const ENV_SETTINGS: ReadonlyArray<readonly [name: string, path: readonly string[], read?: (v: string) => unknown]> = [
  ['PORT', ['server', 'port'], number],
  ['HOST', ['server', 'host']],
  ['WATCHLLM_MAX_BODY_MB', ['server', 'max_body_mb'], number],
  ['WATCHLLM_TRUST_PROXY', ['server', 'trust_proxy'], hops],
  ['WATCHLLM_UPSTREAM_TIMEOUT_MS', ['server', 'upstream_timeout_ms'], number],
  ['WATCHLLM_UPSTREAM_MAX_CONNECTIONS', ['server', 'upstream_max_connections'], number],
  ['WATCHLLM_DRAIN_DELAY_MS', ['server', 'drain_delay_ms'], number],
  ['WATCHLLM_RETRIES', ['retries', 'attempts'], number],
  ['WATCHLLM_DATA_DIR', ['data_dir']],
  ['WATCHLLM_REDIS_URL', ['redis_url']],
  ['WATCHLLM_REDIS_CLUSTER', ['redis_cluster'], flag],
  ['WATCHLLM_REDIS_TIMEOUT_MS', ['redis_timeout_ms'], number],
  ['WATCHLLM_ADMIN_TOKEN', ['admin_token']],
  ['WATCHLLM_SECRET', ['secret']],
  ['WATCHLLM_POLICIES', ['policies_file']],
  ['WATCHLLM_DEFAULT_PROVIDER', ['default_provider']],
  ['WATCHLLM_CLICKHOUSE_URL', ['events', 'clickhouse_url']],
  ['WATCHLLM_EVENTS', ['events', 'enabled'], notOff],
  ['WATCHLLM_CONSOLE', ['console', 'enabled'], notOff],
];

/** Sets `path` in `cfg`, copying the objects along it (the parsed file is not changed). */
function setIn(cfg: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = cfg;
  for (const key of path.slice(0, -1)) {
    const next = { ...(asObject(at[key]) ?? {}) };
    at[key] = next;
    at = next;
  }
  at[path.at(-1)!] = value;
}

/**
 * Env variables win over the file (12-factor), so one image serves every environment. `fromEnv`
 * learns which setting each variable set (dotted path -> variable), for error messages.
 */
function applyEnv(value: unknown, env: Env, fromEnv: Map<string, string>): unknown {
  const cfg: Record<string, unknown> =
    value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...(value as object) } : {};
  for (const [name, path, read] of ENV_SETTINGS) {
    const v = env[name];
    if (!v) continue;
    setIn(cfg, path, read ? read(v) : v);
    fromEnv.set(path.join('.'), name);
  }
  // WATCHLLM_<PROVIDER>_BASE_URL / _API_KEY / _API_VERSION for any provider id (upper-cased, - as _).
  const providers: Record<string, unknown> = { ...(asObject(cfg['providers']) ?? {}) };
  const re = /^WATCHLLM_([A-Z0-9_]+)_(BASE_URL|API_KEY|API_VERSION)$/;
  for (const [name, v] of Object.entries(env)) {
    const m = re.exec(name);
    if (!m || !v) continue;
    const id = m[1]!.toLowerCase().replace(/_/g, '-');
    const field = m[2]!.toLowerCase();
    const key = providers[id] !== undefined ? id : id.replace(/-/g, '_') in providers ? id.replace(/-/g, '_') : id;
    providers[key] = { ...(asObject(providers[key]) ?? {}), [field]: v };
    fromEnv.set(`providers.${key}.${field}`, name);
  }
  cfg['providers'] = providers;
  return cfg;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
