/**
 * Gateway keys across replicas: created through the admin API of one gateway process, used and
 * revoked on another, both sharing one real redis-server.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { FakeProvider } from '../fake-provider/index.ts';
import { openaiError, post, startReplicas, until, type GatewayProcess, type Replicas } from './processes.ts';

const ADMIN = 'admin-token-keys-0123456789';
const HELD = 'sk-held-by-the-gateway';
const YAML_KEY = 'wl_declared_in_yaml_0123456789';
const YAML = `
keys:
  - name: from-yaml
    project: yaml-co
    key: ${YAML_KEY}
`;

let fake: FakeProvider;
let a: GatewayProcess;
let b: GatewayProcess;
let replicas: Replicas;

beforeAll(async () => {
  replicas = await startReplicas({ yaml: YAML, heldKey: HELD, adminToken: ADMIN });
  ({ fake, a, b } = replicas);
});
afterAll(() => replicas?.stop());
beforeEach(() => fake.reset());

const admin = { authorization: `Bearer ${ADMIN}` };
const hi = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const chatAs = (g: GatewayProcess, key: string, body: unknown = hi) => post(`${g.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` });

async function createKey(g: GatewayProcess, body: unknown): Promise<{ id: string; key: string }> {
  const r = await post(`${g.url}/admin/keys`, body, admin);
  expect(r.status).toBe(201);
  return JSON.parse(r.text) as { id: string; key: string };
}

describe('gateway keys through the admin API, shared by two gateway processes', () => {
  test('POST /admin/keys with the documented body answers 201 {id, key: wl_...} and the key is listed (never its secret) on the other replica', async () => {
    const body = { project: 'acme', name: 'ci', limits: { rpm: 100, tpm: 50000 }, budget: { usd: 50, period: 'month' } };
    const r = await post(`${a.url}/admin/keys`, body, admin);
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const created = JSON.parse(r.text) as Record<string, unknown>;
    expect(Object.keys(created).slice(0, 2)).toEqual(['id', 'key']);
    expect(created).toMatchObject({ id: expect.any(String), key: expect.stringMatching(/^wl_[0-9A-Za-z_-]{16,}$/), ...body });

    const list = await fetch(`${b.url}/admin/keys`, { headers: admin });
    expect(list.status).toBe(200);
    const listed = ((await list.json()) as { data: Array<Record<string, unknown>> }).data.find((k) => k['id'] === created['id']);
    expect(listed).toMatchObject({ project: 'acme', name: 'ci', limits: body.limits, budget: body.budget });
    expect(JSON.stringify(listed)).not.toContain(String(created['key']));
    expect(listed).not.toHaveProperty('keyHash');
  });

  test('the admin API refuses a call without the admin token', async () => {
    const r = await post(`${a.url}/admin/keys`, { project: 'acme' });
    expect(r.status).toBe(401);
    expect(openaiError(r).type).toBe('authentication_error');
  });

  test('POST /admin/keys refuses providerKeys under an id the gateway does not know (OpenAI is not openai), naming the known ids', async () => {
    const r = await post(`${a.url}/admin/keys`, { project: 'acme', name: 'typo', providerKeys: { OpenAI: 'sk-tenant' } }, admin);
    expect(r.status).toBe(400);
    expect(openaiError(r)).toMatchObject({
      type: 'invalid_request_error',
      code: 'unknown_provider',
      param: 'providerKeys.OpenAI',
      message: expect.stringMatching(/^providerKeys\.OpenAI: Unknown provider 'OpenAI'\. Known providers: .*\banthropic\b.*\bopenai\b/),
    });
    const listed = ((await (await fetch(`${b.url}/admin/keys?project=acme`, { headers: admin })).json()) as { data: Array<{ name: string }> }).data;
    expect(listed.map((k) => k.name)).not.toContain('typo');
  });

  test('a key created on A works on B through the openai SDK, and the provider sees the key the gateway holds', async () => {
    const { key } = await createKey(a, { project: 'acme', name: 'sdk' });
    const client = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: key, maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]?.message.content).toBe('Hello from fake gpt-4o-mini');
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]?.headers['authorization']).toBe(`Bearer ${HELD}`);
    expect(JSON.stringify(fake.calls[0]?.headers)).not.toContain(key);
  });

  test('a key declared in watchllm.yaml works on both replicas', async () => {
    const replies = await Promise.all([chatAs(a, YAML_KEY), chatAs(b, YAML_KEY)]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
  });

  test('DELETE /admin/keys/:id on A revokes the key on A at once and on B within about a second', async () => {
    const { id, key } = await createKey(a, { project: 'acme', name: 'to-revoke' });
    // B has just used the key, so it holds it in its short lookup cache.
    expect((await chatAs(b, key)).status).toBe(200);

    const del = await fetch(`${a.url}/admin/keys/${id}`, { method: 'DELETE', headers: admin });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ id, revoked: true, revokedAt: expect.any(Number) });

    const onA = await chatAs(a, key);
    expect(onA.status).toBe(401);
    expect(openaiError(onA)).toMatchObject({ type: 'authentication_error', code: 'invalid_gateway_key' });
    // The issue allows one second; the poll gives it three before failing, so a slow machine is not a failure.
    const onB = await until(() => chatAs(b, key), (r) => r.status !== 200, { timeoutMs: 3000 });
    expect(onB.status).toBe(401);
    expect(openaiError(onB)).toMatchObject({ type: 'authentication_error', code: 'invalid_gateway_key' });
    expect((await fetch(`${b.url}/admin/keys/${id}`, { method: 'DELETE', headers: admin })).status).toBe(200);
  });

  test('a key limited to some models refuses the others with 403 on either replica', async () => {
    const { key } = await createKey(a, { project: 'acme', name: 'mini-only', allowedModels: ['gpt-4o-mini'] });
    const [allowed, refused] = await Promise.all([chatAs(b, key), chatAs(b, key, { ...hi, model: 'gpt-4o' })]);
    expect(allowed.status).toBe(200);
    expect(refused.status).toBe(403);
    expect(openaiError(refused)).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    expect(openaiError(refused).message).toContain(`may not use model 'gpt-4o'`);
    expect(fake.calls.map((c) => c.body?.['model'])).toEqual(['gpt-4o-mini']);
    // listing models uses none: the list is open to the key, retrieving another model is not
    const list = await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(list.status).toBe(200);
    const other = await fetch(`${b.url}/v1/models/gpt-4o`, { headers: { authorization: `Bearer ${key}` } });
    expect(other.status).toBe(403);
  });

  test('an unknown wl_ key is refused with 401 and never reaches the provider', async () => {
    const r = await chatAs(b, 'wl_not_a_key_that_exists_0000000');
    expect(r.status).toBe(401);
    expect(openaiError(r).code).toBe('invalid_gateway_key');
    expect(fake.calls).toHaveLength(0);
  });
});
