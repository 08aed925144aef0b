import { join } from 'node:path';
import type { Config } from './config/schema.ts';

/**
 * What the start-up log line says beside the address: where events go and where the console is (or
 * why there is none), so a first run tells a new user where to look. Never a credential: a
 * ClickHouse URL is shown by host only.
 */
export function startupNotes(config: Config, url: string): { events: string; console: string } {
  const e = config.events;
  const events = !e.enabled
    ? 'off (WATCHLLM_EVENTS=off)'
    : e.clickhouse_url
      ? `ClickHouse server at ${hostOf(e.clickhouse_url)}`
      : `embedded ClickHouse in ${join(config.data_dir, 'clickhouse')}`;
  let console: string;
  if (!e.enabled) console = 'off (events are off)';
  else if (!config.console.enabled) console = 'off (WATCHLLM_CONSOLE=off)';
  else if (!config.admin_token) console = `${url}/console (shut until WATCHLLM_ADMIN_TOKEN is set)`;
  else console = `${url}/console (sign in with WATCHLLM_ADMIN_TOKEN)`;
  return { events, console };
}

function hostOf(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return '(invalid URL)';
  }
}
