import { z } from 'zod';

const usageSchema = z.object({
  promptTokens: z.number(),
  completionTokens: z.number(),
  cachedTokens: z.number(),
  cacheWriteTokens: z.number(),
  cacheWrite1hTokens: z.number().optional(),
  reasoningTokens: z.number(),
});

const common = {
  status: z.number().int(),
  /** Response headers worth replaying (content-type etc.), lower-case names. */
  headers: z.record(z.string(), z.string()),
  /** Usage of the original call: the cost a hit saves. */
  usage: usageSchema.nullable(),
  /** The model that answered (as the provider named it). */
  model: z.string(),
  /** Why the original answer ended (`stop`, `tool_calls`, `end_turn`...), recorded again on a hit; absent in entries stored before it was kept. */
  finishReason: z.string().nullable().optional(),
  /** ms since epoch when the original answer was stored. */
  createdAt: z.number(),
};

/**
 * A stored answer: either a non-stream JSON body or the SSE `data:` payloads of a stream, in
 * order (without the `[DONE]` sentinel). The gateway can serve either shape from either.
 */
export const cachedResponseSchema = z.union([
  z.object({ ...common, body: z.string(), events: z.undefined().optional() }),
  z.object({ ...common, events: z.array(z.string()), body: z.undefined().optional() }),
]);
export type CachedResponse = z.infer<typeof cachedResponseSchema>;

export interface CacheStore {
  get(key: string): Promise<CachedResponse | null>;
  /** Store for `ttlSeconds` (fractions allowed; <= 0 stores nothing). */
  set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}
