import { type AddressInfo, createServer } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { adminAuth } from './admin-auth.ts';
import { runCli } from './cli.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { createMemoryKeyStore, type KeyStore } from './stores/index.ts';

const TOKEN = 'admin-token-0123456789';
const T0 = Date.UTC(2030, 0, 2, 3, 4, 5);

let keys: KeyStore;
let server: ServerType;
let url: string;
/** A loopback URL where nothing listens (a port bound and released). */
let deadUrl: string;

beforeAll(async () => {
  const app = new Hono();
  app.use('/admin/*', adminAuth(TOKEN));
  // The store is swapped per test; the routes read it through this indirection.
  const proxy: KeyStore = {
    create: (...a) => keys.create(...a),
    put: (...a) => keys.put(...a),
    list: (...a) => keys.list(...a),
    get: (...a) => keys.get(...a),
    lookup: (...a) => keys.lookup(...a),
    revoke: (...a) => keys.revoke(...a),
    rotate: (...a) => keys.rotate(...a),
    close: () => keys.close(),
  };
  app.route('/', adminKeyRoutes({ keys: proxy, providers: new Set(['openai']), now: () => T0 }));
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(
  () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
    }),
);

beforeEach(() => {
  keys = createMemoryKeyStore();
});

/** Run the CLI against the test gateway; returns its exit code and what it printed. */
async function cli(argv: string[], env: Record<string, string | undefined> = { WATCHLLM_URL: url, WATCHLLM_ADMIN_TOKEN: TOKEN }) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    fetch,
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  });
  return { code, stdout, stderr };
}

describe('watchllm keys create', () => {
  test('creates the key through the admin API and prints its secret once, with a warning', async () => {
    const out = await cli(['keys', 'create', '--project', 'acme', '--name', 'ci', '--budget', '50/month', '--rpm', '100', '--tpm', '50000']);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const [record] = await keys.list();
    expect(record).toMatchObject({ project: 'acme', name: 'ci', limits: { rpm: 100, tpm: 50000 }, budget: { usd: 50, period: 'month' } });
    const secret = /\b(wl_[0-9A-Za-z]{43})\b/.exec(out.stdout)?.[1];
    expect(secret).toBeDefined();
    expect((await keys.lookup(secret!))?.id).toBe(record?.id);
    expect(out.stdout).toContain(`Created key ${record?.id}`);
    expect(out.stdout).toContain('shown only once');
  });

  test('--json prints the API answer for scripts', async () => {
    const out = await cli(['keys', 'create', '--project', 'acme', '--models', 'gpt-4o-mini, gpt-4o', '--tpd', '1000', '--json']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      id: expect.stringMatching(/^key_/),
      key: expect.stringMatching(/^wl_/),
      project: 'acme',
      name: 'default',
      allowedModels: ['gpt-4o-mini', 'gpt-4o'],
      limits: { tpd: 1000 },
    });
  });

  test('--no-bodies creates a key whose calls are recorded without bodies', async () => {
    const out = await cli(['keys', 'create', '--project', 'acme', '--no-bodies']);
    expect(out.code).toBe(0);
    const [record] = await keys.list();
    expect(record).toMatchObject({ project: 'acme', storeBodies: false });
  });

  test.each([
    ['no --project', ['keys', 'create', '--name', 'ci'], 'needs --project'],
    ['a budget without a period', ['keys', 'create', '--project', 'acme', '--budget', '50'], 'expected <usd>/<day|month>'],
    ['a fractional rpm', ['keys', 'create', '--project', 'acme', '--rpm', '1.5'], '--rpm must be a positive integer'],
    ['an unknown flag', ['keys', 'create', '--project', 'acme', '--rmp', '5'], "Unknown option '--rmp'"],
    ['an unknown command', ['keys', 'delete', 'key_1'], 'unknown keys command "delete"'],
    ['revoke without an id', ['keys', 'revoke'], 'needs a key id'],
    ['an rpm in exponent form', ['keys', 'create', '--project', 'acme', '--rpm', '1e3'], '--rpm must be a positive integer'],
    ['a tpm in hex', ['keys', 'create', '--project', 'acme', '--tpm', '0x10'], '--tpm must be a positive integer'],
    ['a URL without its scheme', ['keys', 'list', '--url', '127.0.0.1:8787'], 'must be an http(s) URL'],
  ] as const)('exits 2 with the usage for %s, calling nothing', async (_title, argv, message) => {
    const out = await cli([...argv]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain('Usage: watchllm keys');
    expect(await keys.list()).toEqual([]);
  });
});

describe('watchllm keys list', () => {
  test('prints a table of keys, optionally for one project', async () => {
    await cli(['keys', 'create', '--project', 'acme', '--name', 'ci', '--budget', '50/month', '--rpm', '100', '--tpm', '50000']);
    await cli(['keys', 'create', '--project', 'other', '--name', 'batch']);
    const out = await cli(['keys', 'list']);
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PROJECT\s+NAME\s+STATUS\s+LIMITS\s+BUDGET\s+CREATED$/);
    expect(lines).toHaveLength(3);
    // Same creation time: the API orders them by id, which is random.
    const [acmeLine, otherLine] = [lines.find((l) => / acme /.test(l)), lines.find((l) => / other /.test(l))];
    expect(acmeLine).toMatch(/^key_\S+\s+acme\s+ci\s+active\s+rpm=100 tpm=50000\s+\$50\/month\s+2030-01-02 03:04:05Z$/);
    expect(otherLine).toMatch(/^key_\S+\s+other\s+batch\s+active\s+-\s+-\s+2030-01-02 03:04:05Z$/);
    expect(out.stdout).not.toContain('wl_');

    const acme = await cli(['keys', 'list', '--project', 'acme', '--url', url]);
    expect(acme.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect((await cli(['keys', 'list', '--project', 'nobody'])).stdout).toBe('No keys for project nobody.\n');
  });
});

describe('watchllm keys revoke and rotate', () => {
  test('revoke ends the key and list shows it revoked', async () => {
    const { id, key } = JSON.parse((await cli(['keys', 'create', '--project', 'acme', '--json'])).stdout) as { id: string; key: string };
    const out = await cli(['keys', 'revoke', id]);
    expect(out).toEqual({ code: 0, stdout: `Revoked key ${id} at 2030-01-02 03:04:05Z.\n`, stderr: '' });
    expect(await keys.lookup(key)).toBeNull();
    expect((await cli(['keys', 'list'])).stdout).toContain('revoked 2030-01-02 03:04:05Z');
  });

  test('rotate prints a new secret that works while the old one stops', async () => {
    const { id, key } = JSON.parse((await cli(['keys', 'create', '--project', 'acme', '--json'])).stdout) as { id: string; key: string };
    const out = await cli(['keys', 'rotate', id]);
    expect(out.code).toBe(0);
    const fresh = /\b(wl_[0-9A-Za-z]{43})\b/.exec(out.stdout)?.[1];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(key);
    expect((await keys.lookup(fresh!))?.id).toBe(id);
    expect(await keys.lookup(key)).toBeNull();
  });

  test.each([
    ['revoke', 'No gateway key with id key_nope.'],
    ['rotate', 'No gateway key with id key_nope.'],
  ] as const)('%s of an unknown id prints the API message and exits 1', async (command, message) => {
    const out = await cli(['keys', command, 'key_nope']);
    expect(out).toEqual({ code: 1, stdout: '', stderr: `error: 404: ${message}\n` });
  });
});

describe('talking to the gateway', () => {
  test.each([
    ['a wrong admin token', { WATCHLLM_URL: 'URL', WATCHLLM_ADMIN_TOKEN: 'wrong-token-0123456789' }, 'error: 401: Invalid admin token.'],
    ['no admin token', { WATCHLLM_URL: 'URL' }, 'error: WATCHLLM_ADMIN_TOKEN is not set'],
    ['a gateway that is not running', { WATCHLLM_URL: 'DEAD', WATCHLLM_ADMIN_TOKEN: TOKEN }, 'error: cannot reach the gateway at DEAD (connect ECONNREFUSED'],
  ] as const)('exits 1 with a clear message for %s', async (_title, env, message) => {
    const at = (s: string) => s.replace('DEAD', deadUrl).replace('URL', url);
    const out = await cli(['keys', 'list'], { ...env, WATCHLLM_URL: at(env.WATCHLLM_URL) });
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.startsWith(at(message))).toBe(true);
  });

  test('--url wins over WATCHLLM_URL', async () => {
    const out = await cli(['keys', 'list', '--url', `${url}/`], { WATCHLLM_URL: deadUrl, WATCHLLM_ADMIN_TOKEN: TOKEN });
    expect(out).toEqual({ code: 0, stdout: 'No keys.\n', stderr: '' });
  });

  test('prints the usage with --help and exits 0', async () => {
    const out = await cli(['--help'], {});
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Usage: watchllm keys <command>');
  });
});
