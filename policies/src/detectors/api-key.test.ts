import { describe, expect, test } from 'vitest';
import { apiKey } from './api-key.ts';
import { DETECTORS } from './index.ts';
import { found } from './found.test-helper.ts';

// Fake keys with the documented shapes; none of them is a real credential.
const body = (n: number): string => 'Ab3dEf6hIj9kLm2nOp5rSt8vWx1zAb4dEf7hIj0kLm3nOp6rSt9vWx2zAb5dEf8hIj1kLm4nOp7rSt0vWx3z'.repeat(2).slice(0, n);
const KEYS = {
  openai: `sk-${body(48)}`,
  openaiProject: `sk-proj-${body(64)}`,
  anthropic: `sk-ant-api03-${body(93)}-AA`,
  aws: 'AKIAIOSFODNN7EXAMPLE',
  github: `ghp_${body(36)}`,
  githubFine: `github_pat_11ABCDEFG0${body(72)}`,
  google: `AIza${body(35)}`,
  slack: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  stripe: `sk_live_${body(24)}`,
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  slackApp: 'xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789',
  slackRefresh: 'xoxe-1-My0xLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MC0xMjM0NTY3ODkw',
  slackRotated: 'xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MC0xMjM0NTY3ODkwLWFiY2Rl',
  slackWebhook: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
  // DeepSeek and other OpenAI-compatible vendors: `sk-` + 32 lower-case hex
  skHex: 'sk-0123456789abcdef0123456789abcdef',
};

const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('API key detector', () => {
  test.each(Object.entries(KEYS))('finds a %s key in a sentence', (_kind, key) => {
    expect(found(apiKey, `use "${key}" here`)).toEqual([key]);
  });

  test.each([
    ['a library name', 'pip install scikit-learn sk-learn'],
    ['sk- inside a word', `task-${body(30)}`],
    ['a short sk- token', 'sk-abc123'],
    ['a truncated AWS id', 'AKIA1234'],
    ['a short GitHub prefix', 'ghp_short'],
    ['a Stripe publishable key', `pk_live_${body(24)}`],
    ['a lone base64 JSON header', 'eyJhbGciOiJIUzI1NiJ9'],
    ['a hyphenated name after sk-', 'see sk-learn-compatibility-layer-for-models'],
    ['an sk- run of digits only', 'sk-123456789012345678901234'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(apiKey, text)).toEqual([]);
  });

  test.each([
    ['an env file', `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`],
    ['a credentials file', `aws_secret_access_key = ${AWS_SECRET}`],
    ['AWS CLI JSON output', `{"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "${AWS_SECRET}"}`],
    ['YAML', `secret_access_key: '${AWS_SECRET}'`],
  ] as const)('finds an AWS secret access key after its label (%s), the value only', (_title, text) => {
    expect(found(apiKey_, text)).toContain(AWS_SECRET);
    expect(found(apiKey_, text).join(' ')).not.toMatch(/secret/i);
  });

  test.each([
    ['without a label', `checksum ${AWS_SECRET}`],
    ['longer than 40 characters', `aws_secret_access_key = ${AWS_SECRET}AB`],
  ] as const)('ignores a 40-character run %s', (_title, text) => {
    expect(found(apiKey_, text)).toEqual([]);
  });
});

/** The whole api_key class (prefixed keys and labelled AWS secrets). */
const apiKey_ = DETECTORS.api_key;

describe('API key detector on crafted runs', () => {
  test.each([
    ['sk-', `sk-${'a1'.repeat(3_300_000)}`],
    ['eyJ', `eyJ${'a1'.repeat(3_000_000)}.eyJabcdefgh.abcdefgh`],
    ['github_pat_', `github_pat_${'a1'.repeat(3_000_000)}`],
    ['xoxb-', `xoxb-${'a1'.repeat(3_000_000)}`],
    ['a Slack webhook', `https://hooks.slack.com/services/${'a1'.repeat(3_000_000)}`],
  ] as const)('a run of megabytes after %s is no key and does not overflow the stack', (_title, text) => {
    expect(found(apiKey, text)).toEqual([]);
  });

  test('a long JWT (20 KB of claims) is still one', () => {
    const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJ${'x'.repeat(20_000)}.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`;
    expect(found(apiKey, `token: ${jwt} end`)).toEqual([jwt]);
  });
});
