import { parsePolicies } from './schema.ts';
import type { CompiledPolicySet } from './compile.ts';

/**
 * The README example, as the `yaml` package parses it:
 *   policies:
 *     - name: redact-secrets
 *       detect: [email, api_key]
 *       action: redact
 *     - name: allowed-models
 *       deny_models: ["gpt-4.5*"]
 *       action: deny
 */
export const README_EXAMPLE = {
  policies: [
    { name: 'redact-secrets', detect: ['email', 'api_key'], action: 'redact' },
    { name: 'allowed-models', deny_models: ['gpt-4.5*'], action: 'deny' },
  ],
};

/** A fake OpenAI project key (documented shape, not a credential). */
export const OPENAI_KEY = 'sk-proj-Ab3dEf6hIj9kLm2nOp5rSt8vWx1zAb4dEf7hIj0kLm3nOp6rSt9v';
export const EMAIL = 'jane.doe@example.com';

/** Compiles policies or fails the test with the issues. */
export function compile(value: unknown): CompiledPolicySet {
  const r = parsePolicies(value);
  if (!r.ok) throw new Error(`policies rejected: ${JSON.stringify(r.issues)}`);
  return r.policies;
}

export const meta = { project: 'acme', keyId: 'key_1', user: 'u-42', session: null, properties: { team: 'search' } };
