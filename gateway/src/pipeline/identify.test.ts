import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { createExchange } from '../exchange.ts';
import { buildRegistry } from '../registry.ts';
import { seedConfigKeys } from '../seed-keys.ts';
import { createMemoryKeyStore } from '../stores/index.ts';
import { tenantScope } from './cache.ts';
import { identify, type PresentedCredentials } from './identify.ts';

const KEY = 'wl_identify_tenant_0123456789abcdef';
const yaml = (byok: boolean) => `
providers:
  my-vllm: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", keyless: true, models: ["meta-llama/*"] }
byok: { allowed: ${byok} }
keys:
  - { name: app, project: acme, key: ${KEY} }
`;

async function who(byok: boolean, creds: PresentedCredentials, provider = 'my-vllm') {
  const config = parseConfig(yaml(byok), { WATCHLLM_OPENAI_API_KEY: 'sk-held' });
  const keys = createMemoryKeyStore();
  await seedConfigKeys(keys, config.keys);
  const x = createExchange({ id: 'x', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/v1/chat/completions', ip: null, userAgent: null, now: 0, t0: 0 });
  const target = buildRegistry(config).get(provider)!;
  try {
    const id = await identify(x, creds, target, { keys, byokAllowed: config.byok.allowed, box: null });
    return { x, id, err: null };
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    return { x, id: null, err: e };
  }
}

const none = { gatewayKey: null, providerKey: null };

describe('identify with byok.allowed: false', () => {
  test('a call with no credentials at all to a keyless host is refused: 401 gateway_key_required', async () => {
    const { err } = await who(false, none);
    expect(err).toMatchObject({ status: 401, code: 'gateway_key_required', outcome: 'unauthorized' });
  });

  test.each([
    ['a keyless host', 'my-vllm'],
    ['a provider the gateway holds a key for', 'openai'],
  ])('a provider key without a gateway key is refused the same way (%s)', async (_t, provider) => {
    const { err } = await who(false, { gatewayKey: null, providerKey: 'sk-own' }, provider);
    expect(err).toMatchObject({ status: 401, code: 'gateway_key_required' });
  });

  test('no credentials to a provider that needs a key: told a gateway key is required', async () => {
    const { err } = await who(false, none, 'openai');
    expect(err).toMatchObject({ status: 401, code: 'gateway_key_required' });
  });

  test('a gateway key reaches the keyless host, with no provider key sent', async () => {
    const { x, id, err } = await who(false, { gatewayKey: KEY, providerKey: null });
    expect(err).toBeNull();
    expect(id).toMatchObject({ providerKey: undefined, key: { project: 'acme' } });
    expect(x.auth).toMatchObject({ mode: 'gateway_key', project: 'acme' });
  });
});

describe('identify with byok.allowed: true (the default)', () => {
  test('a call with no credentials still reaches a keyless host', async () => {
    const { x, id, err } = await who(true, none);
    expect(err).toBeNull();
    expect(id).toMatchObject({ providerKey: undefined, key: null });
    expect(x.auth.mode).toBe('none');
  });

  test('no credentials to a provider that needs a key: 401 missing_api_key', async () => {
    const { err } = await who(true, none, 'openai');
    expect(err).toMatchObject({ status: 401, code: 'missing_api_key' });
  });

  test('a provider key alone is BYOK', async () => {
    const { x, err } = await who(true, { gatewayKey: null, providerKey: 'sk-own' }, 'openai');
    expect(err).toBeNull();
    expect(x.auth.mode).toBe('byok');
    expect(x.auth.providerKeyFingerprint).toMatch(/^[0-9a-f]{12}$/);
    // what keeps BYOK tenants apart (cache entries, stored responses) is the whole hash, not the shown prefix
    const hash = createHash('sha256').update('sk-own').digest('hex');
    expect(x.auth.providerKeyHash).toBe(hash);
    expect(x.auth.providerKeyFingerprint).toBe(hash.slice(0, 12));
    expect(tenantScope(x)).toBe(`key:${hash}`);
  });
});
