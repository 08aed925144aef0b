import { writeFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/** The README example, exactly as written there. */
const README_POLICIES = `policies:
  - name: redact-secrets
    detect: [email, api_key]
    action: redact
  - name: allowed-models
    deny_models: ["gpt-4.5*"]
    action: deny
`;

const EMAIL = 'jane.doe@example.com';
const SECRET = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';

let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack({ yaml: README_POLICIES, configFile: true, clickhouse: true });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-byok-test', maxRetries: 0 });
});
afterAll(() => s.close());
beforeEach(() => s.fake.reset());

async function storedRows(): Promise<Array<Record<string, unknown>>> {
  await s.gateway.events!.writer.flush();
  const rs = await s.gateway.events!.client.query({ query: 'SELECT * FROM watchllm.requests', format: 'JSONEachRow' });
  return rs.json();
}

describe('the README policies, in watchllm.yaml', () => {
  test('an e-mail and an API key reach the provider redacted, the client gets its answer, ClickHouse holds neither', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Mail ${EMAIL} the key ${SECRET} and cc ${EMAIL}` }],
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain('Hello from fake');
    const sent = s.fake.calls[0]!.rawBody;
    expect(sent).not.toContain(EMAIL);
    expect(sent).not.toContain(SECRET);
    // the same e-mail twice gets the same placeholder
    expect((s.fake.calls[0]!.body as { messages: Array<{ content: string }> }).messages[0]!.content).toBe(
      'Mail [EMAIL_1] the key [API_KEY_1] and cc [EMAIL_1]',
    );
    const id = response.headers.get('x-watchllm-request-id');
    const rows = await storedRows();
    const row = rows.find((r) => r['request_id'] === id)!;
    expect(row['policy_outcome']).toBe('redacted');
    const all = JSON.stringify(rows);
    expect(all).not.toContain(EMAIL);
    expect(all).not.toContain(SECRET);
    expect(response.headers.get('server-timing')).toMatch(/policy;dur=/);
  });

  test('a denied model gets a clear 403 naming the policy, is never forwarded, and is recorded once', async () => {
    const before = (await storedRows()).length;
    const err = await client.chat.completions
      .create({ model: 'gpt-4.5-preview', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, error: { type: 'permission_error', code: 'policy_denied' } });
    expect((err as { message: string }).message).toContain('allowed-models');
    expect(s.fake.calls).toHaveLength(0);
    const rows = await storedRows();
    expect(rows).toHaveLength(before + 1);
    expect(rows.find((r) => r['model'] === 'gpt-4.5-preview')).toMatchObject({ status_code: 403, outcome: 'denied_policy', policy_outcome: 'denied' });
  });

  test('hot reload: a new rule applies without a restart; a bad file keeps the last good policies', async () => {
    const ok = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await ok();
    writeFileSync(s.configPath!, README_POLICIES.replace('["gpt-4.5*"]', '["gpt-4.5*", "gpt-4o-mini"]'));
    await expect
      .poll(() => ok().then(() => 200, (e: { status?: number }) => e.status ?? 0), { timeout: 5000, interval: 100 })
      .toBe(403);
    // A broken file is refused: the previous policies (with gpt-4o-mini denied) stay in force.
    writeFileSync(s.configPath!, 'policies:\n  - name: broken\n    action: explode\n');
    await new Promise((r) => setTimeout(r, 1500));
    await expect(ok()).rejects.toMatchObject({ status: 403 });
    writeFileSync(s.configPath!, README_POLICIES);
    await expect.poll(() => ok().then(() => 200, (e: { status?: number }) => e.status ?? 0), { timeout: 5000, interval: 100 }).toBe(200);
  });
});

describe('post-response policies on streams', () => {
  test.each([
    ['word by word', `Sure, write to ${EMAIL} today please`, 6, 0],
    // one character per event, each in its own TCP read: the address matches before it is complete
    // (`...@example.co`) and must not go out while it might still grow
    ['character by character', `Sure, write to ${EMAIL}!! today`, 1000, 3],
  ] as const)('an answer that leaks an e-mail (%s) is cut with a clean content_filter end', async (_name, answer, chunks, chunkDelayMs) => {
    const other = await startStack({
      yaml: `policies:\n  - name: no-pii-out\n    detect: [email]\n    action: deny\n    stage: post\n`,
    });
    try {
      other.fake.next({ text: answer, chunks, chunkDelayMs });
      const c = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: 'sk-x', maxRetries: 0 });
      const stream = await c.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'contact?' }] });
      let text = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(finish).toBe('content_filter');
      // held back while it could still become a match: not even the address's first characters left
      expect('Sure, write to '.startsWith(text)).toBe(true);
      const x = (await other.waitForEvents(1))[0]!;
      expect(x).toMatchObject({ outcome: 'denied_policy', policies: { outcome: 'denied' } });
    } finally {
      await other.close();
    }
  });

  const LEAKY = `Sure: write to ${EMAIL}, or use the key ${SECRET} today.`;
  const MASKED = 'Sure: write to [EMAIL_1], or use the key [API_KEY_1] today.';
  /** Fragments of the secrets that must never reach the client, whatever the chunking. */
  const FRAGMENTS = ['jane', '@example', 'sk-proj', 'AbCdEf', '6789abcd'];

  test.each([
    ['word by word', 8],
    ['character by character', 1000],
  ] as const)('the README redact policy masks a streamed answer (%s): placeholders out, no fragment first, stored masked', async (_n, chunks) => {
    s.fake.next({ text: LEAKY, chunks });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'contact?' }] });
    const pieces: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.delta.content ?? '');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(pieces.join('')).toBe(MASKED);
    expect(finish).toBe('stop');
    for (const p of pieces) for (const f of FRAGMENTS) expect(p).not.toContain(f);
    const row = (await storedRows()).filter((r) => r['stream'] === true).sort((a, b) => String(a['ts']).localeCompare(String(b['ts']))).at(-1)!;
    expect(row['response_body']).toBe(MASKED);
    expect(row['policy_matches']).toContain('"applied":true');
  });

  test('a legacy completions stream (choices[].text) is masked the same way', async () => {
    s.fake.next({ text: LEAKY, chunks: 1000 });
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', stream: true, prompt: 'contact?' });
    const pieces: string[] = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.text ?? '');
    expect(pieces.join('')).toBe(MASKED);
    for (const p of pieces) for (const f of FRAGMENTS) expect(p).not.toContain(f);
    // recorded as what happened: the text was masked (applied), not merely flagged
    const row = (await storedRows()).filter((r) => r['endpoint'] === 'completions').sort((a, b) => String(a['ts']).localeCompare(String(b['ts']))).at(-1)!;
    expect(row['policy_outcome']).toBe('redacted');
    expect(row['policy_matches']).toContain('"applied":true');
    expect(row['policy_matches']).not.toContain('"applied":false');
  });

  test('an Anthropic stream, native and translated for the openai SDK, is masked the same way', async () => {
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test', maxRetries: 0 });
    s.fake.next({ text: LEAKY, chunks: 1000 });
    const native = anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 200, messages: [{ role: 'user', content: 'contact?' }] });
    const deltas: string[] = [];
    native.on('text', (t) => deltas.push(t));
    const final = await native.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: MASKED }]);
    for (const d of deltas) for (const f of FRAGMENTS) expect(d).not.toContain(f);

    s.fake.next({ text: LEAKY, chunks: 1000 });
    const translated = await client.chat.completions.create({ model: 'claude-sonnet-4-5', stream: true, messages: [{ role: 'user', content: 'contact?' }] });
    let text = '';
    for await (const chunk of translated) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(MASKED);
  });

  test('a Responses API stream is masked in its deltas and in every event that repeats the text', async () => {
    s.fake.next({ text: LEAKY, chunks: 1000 });
    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'contact?' });
    const deltas: string[] = [];
    const repeated: string[] = [];
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') deltas.push(ev.delta);
      if (ev.type === 'response.output_text.done') repeated.push(ev.text);
      if (ev.type === 'response.content_part.done' && ev.part.type === 'output_text') repeated.push(ev.part.text);
    }
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe(MASKED);
    expect(repeated).toEqual([MASKED, MASKED]);
    expect(final.output_text).toBe(MASKED);
    for (const d of deltas) for (const f of FRAGMENTS) expect(d).not.toContain(f);
  });
});
