import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
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
    throw new ConfigError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS() ?? {};
  const withEnv = applyEnv(value, env);
  const result = configSchema.safeParse(withEnv);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => describe(i, doc, lineCounter, source)).join('\n'));
}

function describe(
  issue: z.core.$ZodIssue,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  source: string,
): string {
  const path = issue.path.map(String);
  // Point an unknown key at the key itself, not at the object holding it.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path.push(issue.keys[0]!);
  return locate(path, issue.message, doc, lines, source);
}

/** `file:line:col: a.b.c: message`, at the deepest part of `path` that exists in the file. */
export function locate(
  path: ReadonlyArray<string | number>,
  message: string,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  source: string,
): string {
  const keys = path.map(String);
  // Walk up the path until a node exists in the file (an env value or a missing key has none).
  for (let n = keys.length; n >= 0; n--) {
    const offset = nodeOffset(doc, keys.slice(0, n));
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return `${source}:${line}:${col}: ${keys.join('.') || '(root)'}: ${message}`;
    }
  }
  return `${source}: ${keys.join('.') || '(root)'}: ${message}`;
}

/** Where a path starts in the file; for a map entry, the key (so `foo: bad` points at `foo`'s line). */
function nodeOffset(doc: ReturnType<typeof parseDocument>, path: readonly string[]): number | undefined {
  const node = doc.getIn([...path], true) as { range?: [number, number, number] } | undefined;
  return node?.range?.[0];
}

/** Env variables win over the file (12-factor), so one image serves every environment. */
function applyEnv(value: unknown, env: Env): unknown {
  const cfg: Record<string, unknown> =
    value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...(value as object) } : {};
  const server = { ...(asObject(cfg['server']) ?? {}) };
  if (env['PORT']) server['port'] = Number(env['PORT']);
  if (env['HOST']) server['host'] = env['HOST'];
  if (env['WATCHLLM_MAX_BODY_MB']) server['max_body_mb'] = Number(env['WATCHLLM_MAX_BODY_MB']);
  const trust = env['WATCHLLM_TRUST_PROXY'];
  if (trust) server['trust_proxy'] = /^\d+$/.test(trust) ? Number(trust) : /^(true|yes|on)$/i.test(trust);
  if (env['WATCHLLM_UPSTREAM_TIMEOUT_MS']) server['upstream_timeout_ms'] = Number(env['WATCHLLM_UPSTREAM_TIMEOUT_MS']);
  if (env['WATCHLLM_DRAIN_DELAY_MS']) server['drain_delay_ms'] = Number(env['WATCHLLM_DRAIN_DELAY_MS']);
  cfg['server'] = server;
  if (env['WATCHLLM_DATA_DIR']) cfg['data_dir'] = env['WATCHLLM_DATA_DIR'];
  if (env['WATCHLLM_REDIS_URL']) cfg['redis_url'] = env['WATCHLLM_REDIS_URL'];
  if (env['WATCHLLM_REDIS_CLUSTER']) cfg['redis_cluster'] = /^(1|true|yes|on)$/i.test(env['WATCHLLM_REDIS_CLUSTER']);
  if (env['WATCHLLM_REDIS_TIMEOUT_MS']) cfg['redis_timeout_ms'] = Number(env['WATCHLLM_REDIS_TIMEOUT_MS']);
  if (env['WATCHLLM_ADMIN_TOKEN']) cfg['admin_token'] = env['WATCHLLM_ADMIN_TOKEN'];
  if (env['WATCHLLM_SECRET']) cfg['secret'] = env['WATCHLLM_SECRET'];
  if (env['WATCHLLM_POLICIES']) cfg['policies_file'] = env['WATCHLLM_POLICIES'];
  if (env['WATCHLLM_DEFAULT_PROVIDER']) cfg['default_provider'] = env['WATCHLLM_DEFAULT_PROVIDER'];
  const events = { ...(asObject(cfg['events']) ?? {}) };
  if (env['WATCHLLM_CLICKHOUSE_URL']) events['clickhouse_url'] = env['WATCHLLM_CLICKHOUSE_URL'];
  if (env['WATCHLLM_EVENTS']) events['enabled'] = !/^(off|false|0|no)$/i.test(env['WATCHLLM_EVENTS']);
  cfg['events'] = events;
  if (env['WATCHLLM_CONSOLE']) cfg['console'] = { ...(asObject(cfg['console']) ?? {}), enabled: !/^(off|false|0|no)$/i.test(env['WATCHLLM_CONSOLE']) };

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
  }
  cfg['providers'] = providers;
  return cfg;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
