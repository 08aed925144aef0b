/**
 * Micro-benchmark of policy evaluation: `pnpm exec tsx policies/bench.ts`.
 * Times evaluateRequest on 1 KB, 100 KB and 1 MB chat prompts under a realistic policy set, plus
 * evaluateResponse, the stream scanner and redactText at 100 KB, and prints µs per KB.
 * Numbers are for comparison between runs on one machine; nothing here asserts a timing.
 */
import {
  createResponseScanner,
  evaluateRequest,
  evaluateResponse,
  parsePolicies,
  redactText,
  type CompiledPolicySet,
} from './src/index.ts';

const parsed = parsePolicies([
  { name: 'redact-secrets', detect: ['email', 'api_key', 'private_key'], action: 'redact' },
  { name: 'allowed-models', deny_models: ['gpt-4.5*'], action: 'deny' },
  { name: 'pii-shadow', mode: 'shadow', detect: ['phone', 'credit_card', 'iban', 'national_id', 'ip_address'], action: 'deny' },
  { name: 'need-user', require_metadata: ['user'], action: 'flag' },
  { name: 'cap-tokens', max_tokens: 4096, action: 'rewrite' },
  { name: 'no-logit-bias', forbid_params: ['logit_bias'], action: 'deny' },
  { name: 'codenames', keywords: ['Project Falcon', 'Bluebird', 'Nightjar'], patterns: [{ regex: 'INC-\\d{6}', name: 'incident' }], action: 'flag' },
  { name: 'big-prompts', match: { project: 'batch-*' }, max_prompt_chars: 2_000_000, action: 'deny' },
]);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
const set: CompiledPolicySet = parsed.policies;

/** Prose with the things real prompts carry: numbers, dates, code, now and then an address. */
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

const meta = { project: 'acme', keyId: 'key_1', user: 'u-1', session: null, properties: {} };

function time(label: string, kb: number, fn: () => void): void {
  for (let i = 0; i < 5; i++) fn(); // warm up: JIT and regex tier-up
  const budgetMs = 400;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs || n < 5) {
    fn();
    n++;
  }
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${label.padEnd(44)} ${us.toFixed(1).padStart(10)} µs/op ${(us / kb).toFixed(2).padStart(8)} µs/KB  (n=${n})`);
}

for (const kb of [1, 100, 1024]) {
  const body = chatBody(kb * 1024);
  time(`evaluateRequest chat ${kb} KB`, kb, () => evaluateRequest(set, { endpoint: 'chat', model: 'gpt-4o', meta, body }));
}

const answer = prose(100 * 1024);
time('evaluateResponse 100 KB', 100, () => evaluateResponse(set, { endpoint: 'chat', model: 'gpt-4o', meta, text: answer }));
time('stream scanner 100 KB in 16-char deltas', 100, () => {
  const s = createResponseScanner(set, { endpoint: 'chat', model: 'gpt-4o', meta });
  for (let i = 0; i < answer.length; i += 16) s.push(answer.slice(i, i + 16));
  s.finish();
});
const stored = JSON.stringify(chatBody(100 * 1024));
time('redactText stored JSON 100 KB', 100, () => redactText(set, stored));
