import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, loadLogLevel, parseConfig } from './load.ts';
import { readFileSync } from 'node:fs';

describe('parseConfig', () => {
  test('an empty file is a working config with the documented defaults', () => {
    const c = parseConfig('', {});
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8787, max_body_mb: 64 });
    expect(c.data_dir).toBe('./.watchllm');
    expect(c.default_provider).toBe('openai');
    expect(c.byok.allowed).toBe(true);
    // no retries unless asked for: clients' SDKs retry on their own
    expect(c.retries).toEqual({ attempts: 0, max_per_call: 3, backoff_ms: 500, max_wait_ms: 10_000 });
  });

  test('env variables override the file', () => {
    const c = parseConfig('server:\n  port: 9000\n', {
      PORT: '9100',
      HOST: '0.0.0.0',
      WATCHLLM_DATA_DIR: '/data',
      WATCHLLM_MAX_BODY_MB: '8',
      WATCHLLM_CLICKHOUSE_URL: 'http://u:p@ch:8123/watchllm',
      WATCHLLM_REDIS_URL: 'redis://r:6379',
      WATCHLLM_ADMIN_TOKEN: 'admin-token-0123456789',
      WATCHLLM_EVENTS: 'off',
      WATCHLLM_RETRIES: '2',
    });
    expect(c.retries.attempts).toBe(2);
    expect(c.server).toMatchObject({ port: 9100, host: '0.0.0.0', max_body_mb: 8 });
    expect(c.data_dir).toBe('/data');
    expect(c.events).toMatchObject({ enabled: false, clickhouse_url: 'http://u:p@ch:8123/watchllm' });
    expect(c.redis_url).toBe('redis://r:6379');
    expect(c.admin_token).toBe('admin-token-0123456789');
  });

  test('an unknown key is reported at the key, with the key it may stand for', () => {
    expect(() => parseConfig('limit:\n  key:\n    rpm: 10\n', {}, 'w.yaml')).toThrow('w.yaml:1:1: limit: Unrecognized key: "limit" (did you mean "limits"?)');
    expect(() => parseConfig('limits:\n  key:\n    rmp: 10\n', {}, 'w.yaml')).toThrow('w.yaml:3:5: limits.key.rmp: Unrecognized key: "rmp" (did you mean "rpm"?)');
    // inside records (a provider's settings) too; nothing close, no guess
    expect(() => parseConfig('providers:\n  my-host:\n    base_ulr: http://x\n', {}, 'w.yaml')).toThrow('(did you mean "base_url"?)');
    expect(() => parseConfig('wholly_unknown: 1\n', {}, 'w.yaml')).toThrow(/wholly_unknown: Unrecognized key: "wholly_unknown"$/);
  });

  test('a value an env variable set is reported under the variable', () => {
    expect(() => parseConfig('admin_token: a-long-enough-token-from-the-file\n', { WATCHLLM_ADMIN_TOKEN: 'short' })).toThrow(
      'WATCHLLM_ADMIN_TOKEN (admin_token): Too small',
    );
    expect(() => parseConfig('', { PORT: 'eighty' })).toThrow(/^PORT \(server\.port\): /);
    // a token with whitespace could never be presented: `Authorization: Bearer <token>` ends at a space
    for (const token of ['correct horse battery staple', ' leading-space-token-0123', 'trailing-space-token-0123 ', 'tab\tseparated-token-0123', 'token-0123456789\n']) {
      expect(() => parseConfig('', { WATCHLLM_ADMIN_TOKEN: token }), JSON.stringify(token)).toThrow(
        /^WATCHLLM_ADMIN_TOKEN \(admin_token\): must not contain whitespace/,
      );
    }
    expect(() => parseConfig('admin_token: "two words, long enough"\n', {}, 'w.yaml')).toThrow(/^w\.yaml:1:\d+: admin_token: must not contain whitespace/);
    // the message never shows the token
    expect(() => parseConfig('', { WATCHLLM_ADMIN_TOKEN: 'secret words here 0123' })).toThrow(/^(?![\s\S]*secret words)[\s\S]*whitespace/);
    expect(() => parseConfig('', { WATCHLLM_RETRIES: '9' })).toThrow(/^WATCHLLM_RETRIES \(retries\.attempts\): Too big/);
  });

  test('a YAML syntax error says what and where, once', () => {
    expect(() => parseConfig('limits:\n  key:\n    rpm: 10\n bad: 1\n', {}, 'w.yaml')).toThrow(/^w\.yaml:4:\d+: [^\n]*[^:]$/);
  });

  test('trust_proxy: how many proxies stand in front (true is one), from the file or WATCHLLM_TRUST_PROXY', () => {
    expect(parseConfig('', {}).server.trust_proxy).toBe(0);
    expect(parseConfig('server:\n  trust_proxy: true\n', {}).server.trust_proxy).toBe(1);
    expect(parseConfig('server:\n  trust_proxy: 2\n', {}).server.trust_proxy).toBe(2);
    for (const [v, hops] of [['1', 1], ['true', 1], ['on', 1], ['2', 2], ['0', 0], ['false', 0]] as const) {
      expect(parseConfig('', { WATCHLLM_TRUST_PROXY: v }).server.trust_proxy, v).toBe(hops);
    }
    expect(() => parseConfig('server:\n  trust_proxy: -1\n', {})).toThrow(ConfigError);
  });

  test('WATCHLLM_<PROVIDER>_BASE_URL and _API_KEY configure any provider', () => {
    const c = parseConfig('', {
      WATCHLLM_OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1',
      WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-x',
      WATCHLLM_AZURE_BASE_URL: 'https://res.openai.azure.com',
      WATCHLLM_AZURE_API_VERSION: '2024-10-21',
    });
    expect(c.providers['openai']).toEqual({ base_url: 'http://127.0.0.1:9999/v1' });
    expect(c.providers['anthropic']).toEqual({ api_key: 'sk-ant-x' });
    expect(c.providers['azure']).toEqual({ base_url: 'https://res.openai.azure.com', api_version: '2024-10-21' });
  });

  test('a bad value is reported with its file line and column', () => {
    const yaml = 'server:\n  port: 8787\n  max_body_mb: lots\n';
    expect(() => parseConfig(yaml, {}, 'watchllm.yaml')).toThrowError(ConfigError);
    expect(() => parseConfig(yaml, {}, 'watchllm.yaml')).toThrowError(/watchllm\.yaml:3:16: server\.max_body_mb: /);
  });

  test('an unknown key is rejected at its line', () => {
    expect(() => parseConfig('default_provider: openai\nproviderz: {}\n', {}, 'w.yaml')).toThrowError(/w\.yaml:2:\d+: providerz: Unrecognized/);
  });

  test('YAML syntax errors point at the line', () => {
    expect(() => parseConfig('server:\n  port: [1, 2\n', {}, 'w.yaml')).toThrowError(/^w\.yaml:\d+:\d+: /);
  });

  test('a provider base URL must be http(s)', () => {
    expect(() => parseConfig('providers:\n  groq:\n    base_url: file:///etc/passwd\n', {}, 'w.yaml')).toThrowError(
      /w\.yaml:3:15: providers\.groq\.base_url/,
    );
  });
});

describe('loadLogLevel', () => {
  test.each([
    [undefined, 'info'],
    ['', 'info'],
    ['silent', 'silent'],
    ['SILENT', 'silent'],
    ['Warn', 'warn'],
    [' error ', 'error'],
    ['debug', 'debug'],
  ] as const)('WATCHLLM_LOG_LEVEL=%j is %s', (value, level) => {
    expect(loadLogLevel(value === undefined ? {} : { WATCHLLM_LOG_LEVEL: value })).toBe(level);
  });

  test.each(['off', 'none', 'warning', 'verbose'])('refuses %j naming the levels it takes (it logged everything)', (value) => {
    expect(() => loadLogLevel({ WATCHLLM_LOG_LEVEL: value })).toThrow(
      new ConfigError(`WATCHLLM_LOG_LEVEL: expected one of debug, info, warn, error, silent (any case), got "${value}"`),
    );
  });
});

describe('loadConfig', () => {
  test('a WATCHLLM_CONFIG that names no file is a ConfigError naming the path, not a stack trace', () => {
    const path = '/nonexistent/watchllm.yaml';
    expect(() => loadConfig({ WATCHLLM_CONFIG: path })).toThrow(ConfigError);
    expect(() => loadConfig({ WATCHLLM_CONFIG: path })).toThrow(`WATCHLLM_CONFIG: cannot read ${path} (ENOENT)`);
  });
});

test("every yaml example in the README is a valid watchllm.yaml", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  for (const yaml of blocks) expect(() => parseConfig(yaml, {}), yaml.split('\n')[0]).not.toThrow();
});
