import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from './load.ts';
import { compilePoliciesText, PolicySource } from './policies.ts';

const GOOD = `server:
  port: 8787
policies:
  - name: redact-secrets
    detect: [email, api_key]
    action: redact
`;

const silent = { info() {}, warn() {}, error() {} };

describe('compilePoliciesText', () => {
  test('reads the policies section of watchllm.yaml', () => {
    expect(compilePoliciesText(GOOD, 'watchllm.yaml')?.policies.map((p) => p.name)).toEqual(['redact-secrets']);
  });

  test('a file without policies has none', () => {
    expect(compilePoliciesText('server:\n  port: 1\n', 'w.yaml')).toBeNull();
  });

  test('a bad policy is reported with its file line and reason', () => {
    const bad = GOOD.replace('action: redact', 'action: explode');
    expect(() => compilePoliciesText(bad, 'watchllm.yaml')).toThrowError(ConfigError);
    expect(() => compilePoliciesText(bad, 'watchllm.yaml')).toThrowError(/^watchllm\.yaml:6:\d+: policies\.0\.action: /);
  });

  test('an invalid regular expression names the policy and its line', () => {
    const bad = 'policies:\n  - name: ids\n    patterns: ["([a-z"]\n    action: deny\n';
    expect(() => compilePoliciesText(bad, 'p.yaml')).toThrowError(/^p\.yaml:3:\d+: policies\.0\.patterns\.0.*ids/);
  });
});

describe('PolicySource.reload', () => {
  test('a bad file keeps the last good policies in force', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pol-')), 'watchllm.yaml');
    writeFileSync(path, GOOD);
    const src = PolicySource.fromFile(path);
    const before = src.current;
    writeFileSync(path, GOOD.replace('action: redact', 'action: explode'));
    expect(src.reload(path, silent)).toBe(false);
    expect(src.current).toBe(before);
    expect(src.reloads).toEqual({ ok: 0, failed: 1 });
    writeFileSync(path, GOOD.replace('[email, api_key]', '[email]'));
    expect(src.reload(path, silent)).toBe(true);
    expect(src.current).not.toBe(before);
  });
});

describe('PolicySource.reload without a policies list', () => {
  const setup = () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pol-')), 'watchllm.yaml');
    writeFileSync(path, GOOD);
    return { path, src: PolicySource.fromFile(path) };
  };

  test.each([
    ['an empty file', ''],
    ['a misspelt root', GOOD.replace('policies:', 'polices:')],
    ['a blank policies key', 'server:\n  port: 8787\npolicies:\n'],
  ])('%s is refused and the policies in force stay', (_title, text) => {
    const { path, src } = setup();
    const before = src.current;
    const errors: string[] = [];
    writeFileSync(path, text);
    expect(src.reload(path, { ...silent, error: (o: { reason: string }) => errors.push(o.reason) })).toBe(false);
    expect(src.current).toBe(before);
    expect(src.reloads).toEqual({ ok: 0, failed: 1 });
    expect(errors[0]).toMatch(/policies: \[\]/);
  });

  test('an explicit `policies: []` removes every policy', () => {
    const { path, src } = setup();
    writeFileSync(path, 'server:\n  port: 8787\npolicies: []\n');
    expect(src.reload(path, silent)).toBe(true);
    expect(src.current).toBeNull();
  });

  test('a config that never had policies reloads without complaint', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pol-')), 'watchllm.yaml');
    writeFileSync(path, 'server:\n  port: 8787\n');
    const src = PolicySource.fromFile(path);
    writeFileSync(path, 'server:\n  port: 8788\n');
    expect(src.reload(path, silent)).toBe(true);
    expect(src.current).toBeNull();
  });
});
