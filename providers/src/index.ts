export * from './types.ts';
export { openaiProvider, openaiStyleProvider, openaiErrorToInfo, statusToType } from './openai/index.ts';
export { openaiUsageBase, type OpenaiUsageBase } from './openai/chat-response.ts';
export { COMPATIBLE_HOSTS, compatibleProvider } from './compatible.ts';
export { resolveRoute, unknownProviderMessage, MODEL_PATTERNS, type RouteInput, type RouteResult } from './routing.ts';
export { usageFromOpenai, emptyUsage } from './usage.ts';
export {
  anthropicProvider,
  anthropicUsage,
  createAnthropicUsageAccumulator,
  type AnthropicUsageAccumulator,
  DEFAULT_ANTHROPIC_VERSION,
} from './anthropic/index.ts';
export { geminiProvider } from './gemini/index.ts';
export { azureProvider, azureStreamsUsage, AZURE_DEFAULT_API_VERSION } from './azure/index.ts';
export { priceFor, costUsd, characterCostUsd, imagesCostUsd, isFree, priceOverrideSchema, KNOWN_UNPRICED, type Price, type PriceOverrides } from './pricing/cost.ts';
