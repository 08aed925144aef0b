/**
 * Policy evaluation timed alone (issue 5), warm up, then timed runs: `pnpm bench` runs this
 * file as its own process, so that a long synchronous loop never blocks the bench's event loop
 * (nor its SIGINT handling), and reads one JSON line of EvalTiming[] from stdout:
 *
 *   node --import tsx test/bench/policy-eval.ts
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { evaluateRequest, parsePolicies, type CompiledPolicySet } from '@watchllm/policies';

/**
 * A realistic policy set: redaction
 * of secrets, a model deny list, PII detectors in shadow mode, required metadata, a token cap,
 * a forbidden parameter, keywords and a pattern, and a project-scoped prompt size cap.
 */
export const POLICY_SET = [
  { name: 'redact-secrets', detect: ['email', 'api_key', 'private_key'], action: 'redact' },
  { name: 'allowed-models', deny_models: ['gpt-4.5*'], action: 'deny' },
  { name: 'pii-shadow', mode: 'shadow', detect: ['phone', 'credit_card', 'iban', 'national_id', 'ip_address'], action: 'deny' },
  { name: 'need-user', require_metadata: ['user'], action: 'flag' },
  { name: 'cap-tokens', max_tokens: 4096, action: 'rewrite' },
  { name: 'no-logit-bias', forbid_params: ['logit_bias'], action: 'deny' },
  { name: 'codenames', keywords: ['Project Falcon', 'Bluebird', 'Nightjar'], patterns: [{ regex: 'INC-\\d{6}', name: 'incident' }], action: 'flag' },
  { name: 'big-prompts', match: { project: 'batch-*' }, max_prompt_chars: 2_000_000, action: 'deny' },
];
/** JSON is YAML (1.2), so the set goes into watchllm.yaml as it is. */
export const POLICIES_YAML = `policies: ${JSON.stringify(POLICY_SET)}\n`;
export const PROMPT_KB = [1, 100, 1024] as const;
export const POLICY_TARGET = 'gateway + policies';

/** Prose with the things real prompts carry : numbers, dates, code, an address. */
const PARAGRAPHS = [
  'The quarterly report for 2024-03-31 shows revenue of 1,234,567 EUR across 42 regions; see table 3.2 for details. ',
  'function total(items) { return items.reduce((a, b) => a + b.price * b.qty, 0); } // v1.4.2 ',
  'Please summarise the customer conversation below and list the action items with owners and due dates. ',
  'Contact alex.martin@example.org or call +44 20 7946 0958 if the shipment 88412 is delayed past 14:30. ',
  'Server 10.20.30.40 returned HTTP 503 at 2024-05-01T12:00:00Z; retry policy is exponential with jitter. ',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. ',
];

function prose(bytes: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += PARAGRAPHS[i % PARAGRAPHS.length];
  return s.slice(0, bytes);
}

/** A chat body of about `bytes` of prompt text over a system, a multi-part and a plain message. */
function chatBody(bytes: number): Record<string, unknown> {
  const text = prose(bytes);
  const third = Math.floor(text.length / 3);
  return {
    model: 'gpt-4o',
    max_tokens: 8000,
    messages: [
      { role: 'system', content: text.slice(0, third) },
      { role: 'user', content: [{ type: 'text', text: text.slice(third, 2 * third) }] },
      { role: 'user', content: text.slice(2 * third) },
    ],
  };
}

export interface EvalTiming {
  kb: number;
  usPerOp: number;
  usPerKb: number;
  n: number;
}

export function compiledSet(): CompiledPolicySet {
  const parsed = parsePolicies(POLICY_SET);
  if (!parsed.ok) throw new Error(`policy set rejected: ${JSON.stringify(parsed.issues)}`);
  return parsed.policies;
}

/** Warm up, then as many runs as fit in `budgetMs` (at least 5). */
export function timeEvaluation(set: CompiledPolicySet, kb: number, budgetMs = 400): EvalTiming {
  const body = chatBody(kb * 1024);
  const meta = { project: 'acme', keyId: 'key_1', user: 'u-1', session: null, properties: {} };
  const fn = (): unknown => evaluateRequest(set, { endpoint: 'chat', model: 'gpt-4o', meta, body });
  for (let i = 0; i < 5; i++) fn(); // JIT and regex tier-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs || n < 5) {
    fn();
    n++;
  }
  const usPerOp = ((performance.now() - t0) * 1000) / n;
  return { kb, usPerOp, usPerKb: usPerOp / kb, n };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const set = compiledSet();
  process.stdout.write(`${JSON.stringify(PROMPT_KB.map((kb) => timeEvaluation(set, kb)))}\n`);
}
