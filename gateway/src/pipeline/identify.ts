import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { ConfiguredProvider } from '../registry.ts';
import { providerKeyFor, type KeyRecord, type KeyStore, type SecretBox } from '../stores/index.ts';

/** Looks up `wl_` keys: the key store (memory or Redis), seeded with the keys from watchllm.yaml. */
export type KeyResolver = Pick<KeyStore, 'lookup'>;

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
  return keyHash(key).slice(0, 12);
}

/** The whole SHA-256 of a provider key, hex (Exchange auth.providerKeyHash). */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface Identity {
  /** The provider credential to send upstream (undefined for keyless hosts). */
  providerKey: string | undefined;
  /** The gateway key's record, when a `wl_` key was presented. */
  key: KeyRecord | null;
}

/** Decides which provider credential this call uses and records who is calling. */
export async function identify(
  x: Exchange,
  creds: PresentedCredentials,
  target: ConfiguredProvider,
  opts: { keys: KeyResolver; byokAllowed: boolean; box: SecretBox | null },
): Promise<Identity> {
  let key: KeyRecord | null = null;
  if (creds.gatewayKey !== null) {
    key = await opts.keys.lookup(creds.gatewayKey);
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
    x.auth.keyName = key.name;
    x.auth.project = key.project;
  }

  if (key === null && !opts.byokAllowed) {
    // Without BYOK every call presents a gateway key, whatever else it sends or omits: a keyless
    // host needs no provider key, so nothing else would stop an anonymous caller reaching it
    // with no per-key limit.
    throw gatewayKeyRequired();
  }

  let providerKey = creds.providerKey ?? undefined;
  if (providerKey === undefined && key !== null) {
    // The key's own credential for this provider first, then the one the gateway holds.
    providerKey = (opts.box ? providerKeyFor(key, target.provider.id, opts.box) : null) ?? target.apiKey;
  }
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
  if (x.auth.mode !== 'gateway_key' && providerKey !== undefined) x.auth.mode = 'byok';
  if (providerKey !== undefined) {
    x.auth.providerKeyHash = keyHash(providerKey);
    x.auth.providerKeyFingerprint = x.auth.providerKeyHash.slice(0, 12);
  }
  return { providerKey, key };
}

function gatewayKeyRequired(): GatewayError {
  return new GatewayError({
    status: 401,
    type: 'authentication_error',
    code: 'gateway_key_required',
    outcome: 'unauthorized',
    message: 'This gateway requires a WatchLLM gateway key (x-watchllm-key or a wl_ bearer).',
  });
}

export function envName(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}
