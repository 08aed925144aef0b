import type { Endpoint } from '@watchllm/providers';
import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';

/**
 * Validates only what the gateway relies on; every other field passes through untouched so new provider
 * parameters work on day one. (Providers validate the rest and their errors reach the client as they are.)
 */
const base = z.looseObject({
  model: z.string({ error: 'you must provide a model parameter' }).min(1, 'model must not be empty'),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
});

const SCHEMAS: Readonly<Record<Exclude<Endpoint, 'models'>, z.ZodType<Record<string, unknown>>>> = {
  chat: base.extend({ messages: z.array(z.unknown(), { error: 'messages must be an array' }).min(1, 'messages must not be empty') }),
  completions: base.extend({ prompt: z.unknown().refine((v) => v !== undefined, 'prompt is required') }),
  embeddings: base.extend({ input: z.unknown().refine((v) => v !== undefined, 'input is required') }),
  responses: base.extend({ input: z.unknown().optional() }),
  count_tokens: base.extend({ messages: z.array(z.unknown(), { error: 'messages: Field required' }) }),
  messages: base.extend({
    messages: z.array(z.unknown(), { error: 'messages: Field required' }),
    max_tokens: z.number({ error: 'max_tokens: Field required' }).int().positive(),
  }),
};

/** Parses and validates the body, filling in `x.request`. */
export function parseRequest(x: Exchange, raw: Buffer): void {
  x.request.bytes = raw.length;
  const text = raw.toString('utf8');
  x.request.raw = text;
  if (x.endpoint === 'models') return;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const detail = e instanceof SyntaxError ? ` (${e.message})` : '';
    throw GatewayError.invalid(
      `We could not parse the JSON body of your request${detail}. Send a valid JSON object with Content-Type: application/json.`,
      null,
      'invalid_json',
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw GatewayError.invalid('The request body must be a JSON object.', null, 'invalid_json');
  }
  const result = SCHEMAS[x.endpoint].safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = issue.path.join('.') || null;
    if (typeof (json as { model?: unknown }).model === 'string') x.request.model = (json as { model: string }).model;
    throw GatewayError.invalid(param && !issue.message.startsWith(param) ? `${param}: ${issue.message}` : issue.message, param,
      param === 'model' ? 'missing_model' : 'invalid_request');
  }
  const body = result.data;
  x.request.body = body;
  x.request.model = body['model'] as string;
  x.request.stream = body['stream'] === true;
  const so = body['stream_options'] as { include_usage?: boolean } | null | undefined;
  x.request.clientWantsUsage = so?.include_usage === true;
}
