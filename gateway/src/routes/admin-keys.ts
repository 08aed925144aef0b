import { unknownProviderMessage } from '@watchllm/providers';
import { Hono } from 'hono';
import type { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { failWith, limitBody } from '../http/hono-errors.ts';
import { createKeyBodySchema, DECLARED_KEY_PREFIX, type KeyRecord, type KeyStore, publicKeyView, StoreUnavailableError } from '../stores/index.ts';

export interface AdminKeyRoutesDeps {
  keys: KeyStore;
  /** The provider ids `providerKeys` may name: the gateway's registry (`registry.ids`). */
  providers: ReadonlySet<string>;
  /** ms since epoch (injectable for tests). */
  now?: () => number;
}


/** A key's create body is a few hundred bytes (project, limits, provider keys); 1 MiB is plenty. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

const adminBodyLimit = limitBody(MAX_ADMIN_BODY_BYTES, `Request body exceeds the admin API limit of ${MAX_ADMIN_BODY_BYTES / 1024 / 1024} MB.`);

function notFound(id: string): GatewayError {
  return new GatewayError({ status: 404, type: 'invalid_request_error', code: 'key_not_found', message: `No gateway key with id ${id}.` });
}

function declaredInConfig(id: string): GatewayError {
  return new GatewayError({
    status: 409,
    type: 'invalid_request_error',
    code: 'key_declared_in_config',
    message:
      `Gateway key ${id} is declared in watchllm.yaml and cannot be rotated through the admin API: ` +
      'put a new key (or its key_sha256) in watchllm.yaml instead, and revoke this one with DELETE /admin/keys/' + id + '.',
  });
}

/**
 * A zod failure as OpenAI's 400: the first issue, with its path as `param` (`limits.rpm`). For an
 * unknown field the path is the parent's, so the field itself is appended (`limits.rmp`).
 */
function invalid(error: z.ZodError): GatewayError {
  const issue = error.issues[0];
  if (!issue) return GatewayError.invalid('Invalid request body.');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const param = path.join('.');
  return GatewayError.invalid(`${param ? `${param}: ` : ''}${issue.message}`, param || null);
}

/**
 * A credential under an id the gateway has no provider for would never be used: calls would go out
 * on the operator's credential instead, silently. Ids match exactly (`OpenAI` is not `openai`).
 */
function unknownProviderKey(providerKeys: Readonly<Record<string, string>> | undefined, known: ReadonlySet<string>): GatewayError | null {
  const id = Object.keys(providerKeys ?? {}).find((p) => !known.has(p));
  if (id === undefined) return null;
  const param = `providerKeys.${id}`;
  return GatewayError.invalid(`${param}: ${unknownProviderMessage(id, known)}`, param, 'unknown_provider');
}

/** The answer to create and rotate: `id` and `key` first, as scripts read it (`{"id":"…","key":"wl_…",…}`). */
function withKey(record: KeyRecord, key: string) {
  const { id, ...view } = publicKeyView(record);
  return { id, key, ...view };
}

/** What a store failure means to an admin: 503 when the shared store is down, else a bug (rethrown). */
function storeFailure(e: unknown): GatewayError {
  if (e instanceof StoreUnavailableError) {
    return new GatewayError({ status: 503, type: 'api_error', code: 'store_unavailable', message: `The key store did not answer: ${e.message}` });
  }
  throw e;
}

/**
 * The key admin API: create, list, show, revoke and rotate gateway keys. Authentication is the
 * mounting app's job (`adminAuth`). A key's secret (`wl_...`) appears only in the answers to
 * create and rotate; listings show `publicKeyView` (no hash, no provider ciphertexts).
 *
 * @example
 * app.use('/admin/*', adminAuth(config.admin_token));
 * app.route('/', adminKeyRoutes({ keys: stores.keys, providers: registry.ids }));
 */
export function adminKeyRoutes(deps: AdminKeyRoutesDeps): Hono {
  const { keys, providers, now = Date.now } = deps;
  const app = new Hono();

  app.post('/admin/keys', adminBodyLimit, async function createKeyRoute(c) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return failWith(c, GatewayError.invalid('The body is not valid JSON.', null, 'invalid_json'));
    }
    const parsed = createKeyBodySchema.safeParse(body);
    if (!parsed.success) return failWith(c, invalid(parsed.error));
    const input = parsed.data;
    const unknown = unknownProviderKey(input.providerKeys, providers);
    if (unknown) return failWith(c, unknown);
    try {
      const { record, key } = await keys.create(input, now());
      return c.json(withKey(record, key), 201);
    } catch (e) {
      // The store refuses provider credentials it could not encrypt (no WATCHLLM_SECRET): the
      // caller's mistake or the operator's, never something to retry.
      if (input.providerKeys && !(e instanceof StoreUnavailableError) && e instanceof Error && e.message.includes('WATCHLLM_SECRET')) {
        return failWith(
          c,
          GatewayError.invalid(
            'providerKeys cannot be stored: the gateway has no WATCHLLM_SECRET to encrypt them with. Set WATCHLLM_SECRET or omit providerKeys.',
            'providerKeys',
            'secret_not_configured',
          ),
        );
      }
      return failWith(c, storeFailure(e));
    }
  });

  app.get('/admin/keys', async function listKeysRoute(c) {
    const project = c.req.query('project');
    try {
      const records = await keys.list(project === undefined || project === '' ? {} : { project });
      records.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      return c.json({ data: records.map(publicKeyView) });
    } catch (e) {
      return failWith(c, storeFailure(e));
    }
  });

  app.get('/admin/keys/:id', async function getKeyRoute(c) {
    const id = c.req.param('id');
    try {
      const record = await keys.get(id);
      return record ? c.json(publicKeyView(record)) : failWith(c, notFound(id));
    } catch (e) {
      return failWith(c, storeFailure(e));
    }
  });

  app.delete('/admin/keys/:id', async function revokeKeyRoute(c) {
    const id = c.req.param('id');
    try {
      const record = await keys.revoke(id, now());
      if (!record) return failWith(c, notFound(id));
      return c.json({ id: record.id, revoked: true, revokedAt: record.revokedAt });
    } catch (e) {
      return failWith(c, storeFailure(e));
    }
  });

  app.post('/admin/keys/:id/rotate', async function rotateKeyRoute(c) {
    const id = c.req.param('id');
    try {
      // A declared key's secret is the one in watchllm.yaml: a rotated secret would contradict the
      // file (and every replica reading it). It is rotated by declaring a new key there.
      if (id.startsWith(DECLARED_KEY_PREFIX)) {
        return failWith(c, (await keys.get(id)) ? declaredInConfig(id) : notFound(id));
      }
      const issued = await keys.rotate(id, now());
      if (issued) return c.json(withKey(issued.record, issued.key), 201);
      // The store answers null for both; tell the caller which, since only one is worth a retry elsewhere.
      const existing = await keys.get(id);
      if (!existing) return failWith(c, notFound(id));
      return failWith(
        c,
        new GatewayError({ status: 409, type: 'invalid_request_error', code: 'key_revoked', message: `Gateway key ${id} is revoked and cannot be rotated; create a new key.` }),
      );
    } catch (e) {
      return failWith(c, storeFailure(e));
    }
  });

  return app;
}
