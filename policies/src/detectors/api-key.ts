import type { Detector } from './types.ts';

/**
 * API keys and tokens of common providers, by their documented prefixes:
 * - OpenAI `sk-…`, `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`
 * - Anthropic `sk-ant-api03-…` / `sk-ant-admin01-…` (any `sk-ant-`)
 * - AWS access key ids `AKIA…` / `ASIA…` (16 uppercase alphanumerics after the prefix)
 * - GitHub classic `ghp_/gho_/ghu_/ghs_/ghr_` and fine-grained `github_pat_`
 *   (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/)
 * - Google API keys `AIza` + 35 characters
 * - Slack `xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr-`
 * - Stripe secret and restricted keys `sk_live_/sk_test_/rk_live_/rk_test_`
 * - JSON Web Tokens (a bearer token format, RFC 7519): `eyJ….eyJ….signature`
 * One alternation, so a text is scanned once for all of them; every branch starts with a
 * literal prefix, which keeps the scan linear.
 */
export const apiKey: Detector = {
  id: 'api_key',
  label: 'API_KEY',
  re: /(?<![\w-])(?:sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|AIza[0-9A-Za-z_-]{35}|xox[abposr]-[A-Za-z0-9-]{10,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})(?![\w-])/g,
};
