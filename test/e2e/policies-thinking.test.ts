/**
 * Signed thinking and redact policies: Anthropic checks a thinking block's signature when the block
 * comes back in a later turn, so the gateway reads it (deny and flag rules apply) but never rewrites
 * it; the fake provider checks signatures as Anthropic does.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { thinkingSignature } from '../fake-provider/anthropic.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let client: Anthropic;
beforeAll(async () => {
  s = await startStack({ yaml: 'policies:\n  - name: mask-mail\n    detect: [email]\n    action: redact\n    stage: both\n' });
  client = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test-key', maxRetries: 0 });
});
afterAll(async () => s.close());

test('a tool-use turn that sends back signed thinking mentioning an address goes through, the rest of the prompt masked', async () => {
  const thought = 'The user asked me to look up jane@example.com, so I will call the tool.';
  const answer = await client.messages.create({
    model: 'claude-sonnet-4-5',
    max_tokens: 2000,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
    messages: [
      { role: 'user', content: 'look up jane@example.com' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: thought, signature: thinkingSignature(thought) },
          { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {} },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found jane@example.com' }] },
    ],
  });
  expect(answer.type).toBe('message');
  const sent = s.fake.calls.at(-1)!.rawBody;
  expect(sent).toContain(JSON.stringify(thought));
  expect(sent).toContain('look up [EMAIL_1]');
  expect(sent).toContain('found [EMAIL_1]');
});
