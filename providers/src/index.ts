export * from './types.ts';
export { openaiProvider, openaiStyleProvider, openaiErrorToInfo, statusToType } from './openai/index.ts';
export { COMPATIBLE_HOSTS, compatibleProvider } from './compatible.ts';
export { resolveRoute, MODEL_PATTERNS, type RouteInput, type RouteResult } from './routing.ts';
export { usageFromOpenai, emptyUsage } from './usage.ts';
