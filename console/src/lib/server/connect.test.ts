import { expect, test } from 'vitest';
import { contextFromEnv } from './connect.ts';

test('an admin token with whitespace stops the standalone console at start (it could never be sent as a bearer)', () => {
  expect(() => contextFromEnv({ WATCHLLM_ADMIN_TOKEN: 'correct horse battery staple', WATCHLLM_CLICKHOUSE_URL: 'http://127.0.0.1:1/watchllm' })).toThrow(
    'WATCHLLM_ADMIN_TOKEN must not contain whitespace',
  );
});
