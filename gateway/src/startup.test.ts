import { describe, expect, test } from 'vitest';
import { parseConfig } from './config/load.ts';
import { startupNotes } from './startup.ts';

const URL = 'http://127.0.0.1:8787';

describe('startupNotes', () => {
  test('the default: embedded events under the data dir; the console shut until an admin token is set', () => {
    expect(startupNotes(parseConfig('', {}), URL)).toEqual({
      events: 'embedded ClickHouse in .watchllm/clickhouse',
      console: 'http://127.0.0.1:8787/console (shut until WATCHLLM_ADMIN_TOKEN is set)',
    });
    expect(startupNotes(parseConfig('', { WATCHLLM_ADMIN_TOKEN: 'admin-token-0123456789' }), URL).console).toBe(
      'http://127.0.0.1:8787/console (sign in with WATCHLLM_ADMIN_TOKEN)',
    );
  });

  test('a ClickHouse server by host only, never its credentials', () => {
    const notes = startupNotes(parseConfig('', { WATCHLLM_CLICKHOUSE_URL: 'http://watchllm:s3cret@ch.internal:8123/watchllm' }), URL);
    expect(notes.events).toBe('ClickHouse server at ch.internal:8123');
    expect(JSON.stringify(notes)).not.toContain('s3cret');
  });

  test('what is off says why', () => {
    expect(startupNotes(parseConfig('', { WATCHLLM_EVENTS: 'off' }), URL)).toEqual({ events: 'off (WATCHLLM_EVENTS=off)', console: 'off (events are off)' });
    expect(startupNotes(parseConfig('', { WATCHLLM_CONSOLE: 'off' }), URL).console).toBe('off (WATCHLLM_CONSOLE=off)');
  });
});
