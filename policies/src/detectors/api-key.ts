import type { Detector } from './types.ts';

const SK_PREFIX = /^sk-(?:ant-|proj-|svcacct-|admin-)?/;

const DIGIT = /\d/;
const LETTER = /[A-Za-z]/;

function lettersAndDigits(s: string): boolean {
  return DIGIT.test(s) && LETTER.test(s);
}

/**
 * API keys and tokens of common providers, by their documented prefixes:
 * - OpenAI `sk-…`, `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`
 * - Anthropic `sk-ant-api03-…` / `sk-ant-admin01-…` (any `sk-ant-`)
 * - AWS access key ids `AKIA…` / `ASIA…` (16 uppercase alphanumerics after the prefix)
 * - GitHub classic `ghp_/gho_/ghu_/ghs_/ghr_` and fine-grained `github_pat_`
 *   (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/)
 * - Google API keys `AIza` + 35 characters
 * - Slack `xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr-`, refresh tokens `xoxe-` and rotated tokens
 *   `xoxe.xoxp-…`, app-level tokens `xapp-`, and incoming webhooks `https://hooks.slack.com/services/…`
 * - Stripe secret and restricted keys `sk_live_/sk_test_/rk_live_/rk_test_`
 * - JSON Web Tokens (a bearer token format, RFC 7519): `eyJ….eyJ….signature`
 * One alternation, so a text is scanned once for all of them; every branch starts with a
 * literal prefix, which keeps the scan linear. Every run has an upper bound far above any real
 * token (4 KB for keys, 64 KB per JWT part): unbounded, a multi-megabyte run after a prefix made
 * V8's backtracking overflow its stack (a RangeError: a 500 for a client's crafted prompt).
 *
 * `sk-` also starts ordinary words (`sk-learn-compatibility-layer`): every vendor using it
 * (OpenAI, Anthropic, and the OpenAI-compatible ones, e.g. DeepSeek's `sk-` + 32 hex) issues
 * random strings, which have letters and digits, so a run without both is not a key.
 */
export const apiKey: Detector = {
  id: 'api_key',
  label: 'API_KEY',
  re: /(?<![\w-])(?:sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,4096}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,1024}|github_pat_[A-Za-z0-9_]{22,1024}|AIza[0-9A-Za-z_-]{35}|(?:xoxe\.)?xox[abposre]-[A-Za-z0-9-]{10,1024}|xapp-\d-[A-Za-z0-9-]{10,1024}|(?:https?:\/\/)?hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_\/-]{20,2048}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,1024}|eyJ[A-Za-z0-9_-]{8,65536}\.eyJ[A-Za-z0-9_-]{8,65536}\.[A-Za-z0-9_-]{8,65536})(?![\w-])/g,
  validate: (candidate) => !candidate.startsWith('sk-') || lettersAndDigits(candidate.replace(SK_PREFIX, '')),
};

/**
 * AWS secret access keys: 40 base64 characters with no prefix of their own, so only reported
 * after their label (`aws_secret_access_key = …`, `AWS_SECRET_ACCESS_KEY=…`, `"SecretAccessKey":
 * "…"`); a bare 40-character run is as likely a hash or an id. The label stays, the value is the hit.
 */
/** The label before an AWS secret key's value, up to the value (stream-filter.ts holds it with the value). */
export const AWS_SECRET_LABEL = String.raw`secret[_ .-]?access[_ .-]?key["']?\s*[:=]>?\s*["']?`;

export const awsSecretKey: Detector = {
  id: 'api_key',
  label: 'API_KEY',
  re: new RegExp(`${AWS_SECRET_LABEL}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`, 'gi'),
  mayContain: (text) => text.includes('ccess') || text.includes('CCESS'),
  valueGroup: true,
};
