import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { ConfiguredProvider } from '../registry.ts';

/** A gateway key as the key store knows it (never the key itself). */
export interface GatewayKey {
  id: string;
  project: string;
  name: string;
}

/** Looks up `wl_` keys. The config-backed resolver below is replaced by the key store when one exists. */
export interface KeyResolver {
  lookup(key: string): Promise<GatewayKey | null>;
}

/** What the caller presented, before any lookup. */
export interface PresentedCredentials {
  gatewayKey: string | null;
  providerKey: string | null;
}

const GATEWAY_PREFIX = 'wl_';

/**
 * OpenAI surface: `Authorization: Bearer <key>`; Anthropic surface: `x-api-key` (the Anthropic SDK) or a
 * bearer. A `wl_` bearer is a gateway key; `x-watchllm-key` carries a gateway key beside a provider key.
 */
export function presentedCredentials(h: IncomingHttpHeaders): PresentedCredentials {
  const auth = h['authorization'];
  const bearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : null;
  const apiKey = typeof h['x-api-key'] === 'string' ? h['x-api-key'].trim() : null;
  const goog = typeof h['x-goog-api-key'] === 'string' ? h['x-goog-api-key'].trim() : null;
  const explicit = typeof h['x-watchllm-key'] === 'string' ? h['x-watchllm-key'].trim() : null;
  const candidates = [bearer, apiKey, goog].filter((k): k is string => !!k);
  const gatewayKey = explicit || candidates.find((k) => k.startsWith(GATEWAY_PREFIX)) || null;
  const providerKey = candidates.find((k) => !k.startsWith(GATEWAY_PREFIX)) ?? null;
  return { gatewayKey, providerKey };
}

/** A short, stable hash prefix: enough to attribute usage per key, useless for recovering it. */
export function fingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * Decides which provider credential this call uses and records who is calling.
 * Returns the key to send upstream (undefined for keyless hosts).
 */
export async function identify(
  x: Exchange,
  creds: PresentedCredentials,
  target: ConfiguredProvider,
  opts: { keys: KeyResolver; byokAllowed: boolean },
): Promise<string | undefined> {
  if (creds.gatewayKey !== null) {
    const key = await opts.keys.lookup(creds.gatewayKey);
    if (key === null) {
      throw new GatewayError({
        status: 401,
        type: 'authentication_error',
        code: 'invalid_gateway_key',
        message: 'The WatchLLM gateway key is not valid or has been revoked.',
        outcome: 'unauthorized',
      });
    }
    x.auth.mode = 'gateway_key';
    x.auth.keyId = key.id;
    x.auth.project = key.project;
  }

  let providerKey = creds.providerKey ?? undefined;
  if (providerKey === undefined && x.auth.mode === 'gateway_key') providerKey = target.apiKey;
  if (providerKey === undefined && !target.keyless) {
    throw new GatewayError({
      status: 401,
      type: 'authentication_error',
      code: 'missing_api_key',
      outcome: 'unauthorized',
      message:
        x.auth.mode === 'gateway_key'
          ? `The gateway holds no key for provider '${target.provider.id}'. Set WATCHLLM_${envName(target.provider.id)}_API_KEY or send your own provider key.`
          : 'No API key provided. Send your provider key as a Bearer token (or x-api-key), or a WatchLLM gateway key.',
    });
  }
  if (x.auth.mode !== 'gateway_key' && providerKey !== undefined) {
    if (!opts.byokAllowed) {
      throw new GatewayError({
        status: 401,
        type: 'authentication_error',
        code: 'gateway_key_required',
        outcome: 'unauthorized',
        message: 'This gateway requires a WatchLLM gateway key (x-watchllm-key or a wl_ bearer).',
      });
    }
    x.auth.mode = 'byok';
  }
  if (providerKey !== undefined) x.auth.providerKeyFingerprint = fingerprint(providerKey);
  return providerKey;
}

export function envName(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

/** Keys declared in watchllm.yaml, by sha256 of the key. */
export function configKeyResolver(
  keys: ReadonlyArray<{ name: string; project: string; key?: string | undefined; key_sha256?: string | undefined }>,
): KeyResolver {
  const byHash = new Map<string, GatewayKey>();
  for (const k of keys) {
    const hash = k.key_sha256 ?? createHash('sha256').update(k.key!).digest('hex');
    byHash.set(hash, { id: `cfg_${hash.slice(0, 12)}`, project: k.project, name: k.name });
  }
  return {
    // A lookup by hash leaks nothing useful about the key, so a plain map is enough.
    lookup: async (key) => byHash.get(createHash('sha256').update(key).digest('hex')) ?? null,
  };
}
