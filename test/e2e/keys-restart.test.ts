import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, test } from 'vitest';
import { startStack } from './harness.ts';

const ADMIN = 'admin-token-for-restart-test';

describe('one gateway process without Redis', () => {
  test('a key created through the admin API still works after a restart on the same data dir', async () => {
    const env = { WATCHLLM_DATA_DIR: mkdtempSync(join(tmpdir(), 'keys-restart-')), WATCHLLM_ADMIN_TOKEN: ADMIN, WATCHLLM_OPENAI_API_KEY: 'sk-held' };
    const first = await startStack({ env });
    const created = await fetch(`${first.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project: 'acme', name: 'ci' }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    await first.close();

    const second = await startStack({ env });
    try {
      const client = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: key, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0]?.message.content).toContain('Hello from fake');
      expect((await second.waitForEvents(1))[0]!.auth).toMatchObject({ mode: 'gateway_key', project: 'acme' });
    } finally {
      await second.close();
    }
  });
});
