import { compileGlob } from '@watchllm/policies';
import {
  COMPATIBLE_HOSTS,
  compatibleProvider,
  openaiProvider,
  anthropicProvider,
  geminiProvider,
  azureProvider,
  type Provider,
  type ProviderTarget,
} from '@watchllm/providers';
import type { Config } from './config/schema.ts';

/** A provider as this gateway is configured to use it. Base URLs come only from config/env (no SSRF). */
export interface ConfiguredProvider {
  provider: Provider;
  target: ProviderTarget;
  /** The credential the gateway holds, used for calls made with a gateway key. */
  apiKey: string | undefined;
  /** Hosts such as Ollama and vLLM that need no key. */
  keyless: boolean;
  /**
   * OpenAI-style streams may be sent `stream_options.include_usage` (config `stream_usage`; off for
   * hosts that refuse it, such as Mistral).
   */
  streamUsage: boolean;
  /**
   * Whose built-in prices apply (priceFor's `billsAs`): a provider declared with `kind: openai` (a
   * second OpenAI account, say) bills like OpenAI; hosts of their own kind by their id.
   */
  priceTable: string;
}

export interface Registry {
  get(id: string): ConfiguredProvider | undefined;
  ids: ReadonlySet<string>;
  defaultProvider: string;
  patterns: ReadonlyArray<{ provider: string; pattern: RegExp }>;
  /** Config `aliases:`, names lower-cased: a name clients send -> the model it stands for. */
  aliases: ReadonlyMap<string, string>;
}

const BUILTIN: ReadonlyArray<{ provider: Provider; baseUrl: string | null; keyless?: boolean; streamUsage?: boolean }> = [
  { provider: openaiProvider, baseUrl: 'https://api.openai.com/v1' },
  { provider: anthropicProvider, baseUrl: 'https://api.anthropic.com' },
  { provider: geminiProvider, baseUrl: 'https://generativelanguage.googleapis.com/v1beta' },
  // Azure has no default endpoint: it is known once WATCHLLM_AZURE_BASE_URL (or config) names the resource.
  { provider: azureProvider, baseUrl: null },
  ...COMPATIBLE_HOSTS.map((h) => ({ provider: compatibleProvider(h.id), baseUrl: h.baseUrl, keyless: h.keyless ?? false, streamUsage: h.streamUsage ?? true })),
];

const BY_KIND = {
  openai: (id: string) => (id === 'openai' ? openaiProvider : compatibleProvider(id)),
  'openai-compatible': compatibleProvider,
  anthropic: () => anthropicProvider,
  gemini: () => geminiProvider,
  azure: () => azureProvider,
} as const;

export function buildRegistry(config: Config): Registry {
  const map = new Map<string, ConfiguredProvider>();
  const patterns: { provider: string; pattern: RegExp }[] = [];
  for (const b of BUILTIN) {
    const c = config.providers[b.provider.id];
    const baseUrl = c?.base_url ?? b.baseUrl;
    if (baseUrl === null) continue;
    // The keyless local hosts (ollama, vllm on the gateway's own loopback) only once declared: known
    // by default, they would let anyone who reaches the gateway, without a key, call whatever
    // listens on those ports of its machine.
    if (b.keyless && c === undefined) continue;
    map.set(b.provider.id, {
      provider: b.provider,
      target: targetOf(baseUrl, c),
      apiKey: c?.api_key,
      keyless: c?.keyless ?? b.keyless ?? false,
      streamUsage: c?.stream_usage ?? b.streamUsage ?? true,
      priceTable: b.provider.id,
    });
  }
  for (const [id, c] of Object.entries(config.providers)) {
    // one glob compiler for routing, limits, key scopes and policies: a glob means the same everywhere
    if (c.models) for (const g of c.models) patterns.push({ provider: id, pattern: compileGlob(g) });
    if (map.has(id) && c.kind === undefined) continue;
    if (c.base_url === undefined) {
      throw new Error(`providers.${id}: base_url is required for a provider the gateway does not know`);
    }
    const kind = c.kind ?? 'openai-compatible';
    map.set(id, {
      provider: { ...BY_KIND[kind](id), id },
      target: targetOf(c.base_url, c),
      apiKey: c.api_key,
      keyless: c.keyless ?? false,
      streamUsage: c.stream_usage ?? map.get(id)?.streamUsage ?? streamUsageOf(c.base_url),
      priceTable: kind === 'openai-compatible' ? id : kind,
    });
  }
  if (!map.has(config.default_provider)) {
    throw new Error(`default_provider '${config.default_provider}' is not a configured provider`);
  }
  const aliases = new Map(Object.entries(config.aliases).map(([name, model]) => [name.toLowerCase(), model]));
  return { get: (id) => map.get(id), ids: new Set(map.keys()), defaultProvider: config.default_provider, patterns, aliases };
}

/**
 * A provider declared under its own id whose base_url is a built-in host's: that host's
 * `stream_usage` default (`providers: {eu-mistral: {base_url: https://api.mistral.ai/v1}}` is not
 * asked for usage either), else on.
 */
function streamUsageOf(baseUrl: string): boolean {
  const host = hostOf(baseUrl);
  return COMPATIBLE_HOSTS.find((h) => h.streamUsage === false && hostOf(h.baseUrl) === host)?.streamUsage ?? true;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}

function targetOf(baseUrl: string, c: Config['providers'][string] | undefined): ProviderTarget {
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    ...(c?.api_version ? { apiVersion: c.api_version } : {}),
    ...(c?.deployments ? { deployments: c.deployments } : {}),
    ...(c?.headers ? { headers: c.headers } : {}),
  };
}
