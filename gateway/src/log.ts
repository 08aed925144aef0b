/**
 * A tiny structured logger: one JSON line per message on stderr. Never pass secrets: callers log ids
 * and fingerprints, not keys or bodies.
 */
export interface Logger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as readonly LogLevel[];

/**
 * A level as written in WATCHLLM_LOG_LEVEL, in any case (`WARN`); null when it is none, which the
 * caller must refuse: a typo (`off`, `warning`) would otherwise log everything.
 */
export function parseLogLevel(value: string): LogLevel | null {
  const v = value.trim().toLowerCase();
  return Object.hasOwn(LEVELS, v) ? (v as LogLevel) : null;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LEVELS[level];
  const at = (lvl: Exclude<LogLevel, 'silent' | 'debug'>) => (fields: Record<string, unknown>, msg: string) => {
    if (LEVELS[lvl] < min) return;
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...serialise(fields) }) + '\n');
  };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}
