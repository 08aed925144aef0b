/**
 * Gemini API (generativelanguage v1beta) wire types.
 * Requests are built by us, so plain interfaces; responses come from the network, so they are
 * narrowed with zod (loose objects: unknown fields such as safetyRatings are kept out of the way,
 * not rejected). Reference: https://ai.google.dev/api/generate-content
 */
import { z } from 'zod';

// ---------- request ----------

export interface GeminiFunctionCall {
  name: string;
  args: Record<string, unknown>;
  id?: string;
}

export type GeminiPart =
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { fileData: { mimeType: string; fileUri: string } }
  /** thoughtSignature rides on the part, not inside functionCall (https://ai.google.dev/gemini-api/docs/thought-signatures). */
  | { functionCall: GeminiFunctionCall; thoughtSignature?: string }
  | { functionResponse: { name: string; response: Record<string, unknown> } };

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** Full JSON Schema (not the OpenAPI subset of `parameters`), so OpenAI schemas pass unchanged. */
  parametersJsonSchema?: Record<string, unknown>;
}

export interface GeminiGenerationConfig {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
  candidateCount?: number;
  responseMimeType?: string;
  responseJsonSchema?: Record<string, unknown>;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  thinkingConfig?: { thinkingBudget: number };
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: {
    functionCallingConfig: { mode: 'AUTO' | 'NONE' | 'ANY'; allowedFunctionNames?: string[] };
  };
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiEmbedRequest {
  requests: Array<{
    model: string;
    content: { parts: Array<{ text: string }> };
    outputDimensionality?: number;
  }>;
}

// ---------- response ----------

export const GeminiResponsePartSchema = z.looseObject({
  text: z.string().optional(),
  /** true for thought summaries, which only appear when includeThoughts is set; never client text. */
  thought: z.boolean().optional(),
  thoughtSignature: z.string().optional(),
  functionCall: z
    .looseObject({
      name: z.string(),
      args: z.record(z.string(), z.unknown()).optional(),
      id: z.string().optional(),
    })
    .optional(),
});

export const GeminiCandidateSchema = z.looseObject({
  content: z.looseObject({ parts: z.array(GeminiResponsePartSchema).optional(), role: z.string().optional() }).optional(),
  finishReason: z.string().optional(),
  index: z.number().int().optional(),
});

export const GeminiUsageSchema = z.looseObject({
  promptTokenCount: z.number().optional(),
  candidatesTokenCount: z.number().optional(),
  thoughtsTokenCount: z.number().optional(),
  cachedContentTokenCount: z.number().optional(),
  /** Tokens of tool results (code execution, search) fed back as input; billed as input. */
  toolUsePromptTokenCount: z.number().optional(),
  totalTokenCount: z.number().optional(),
});

export const GeminiResponseSchema = z.looseObject({
  candidates: z.array(GeminiCandidateSchema).optional(),
  promptFeedback: z.looseObject({ blockReason: z.string().optional() }).optional(),
  usageMetadata: GeminiUsageSchema.optional(),
  modelVersion: z.string().optional(),
  responseId: z.string().optional(),
});

export const GeminiEmbedResponseSchema = z.looseObject({
  embeddings: z.array(z.looseObject({ values: z.array(z.number()) })),
});

export const GeminiErrorSchema = z.looseObject({
  error: z.looseObject({
    code: z.number().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(z.looseObject({ reason: z.string().optional() })).optional(),
  }),
});

export type GeminiResponsePart = z.infer<typeof GeminiResponsePartSchema>;
export type GeminiCandidate = z.infer<typeof GeminiCandidateSchema>;
export type GeminiUsage = z.infer<typeof GeminiUsageSchema>;
export type GeminiResponse = z.infer<typeof GeminiResponseSchema>;
