/**
 * Anthropic's Models API: the list (https://docs.anthropic.com/en/api/models-list) and one model
 * (https://docs.anthropic.com/en/api/models, GET /v1/models/{model_id}), and one model in OpenAI's
 * shape for the OpenAI surface (https://platform.openai.com/docs/api-reference/models/object).
 */
import { z } from 'zod';
import { oneModelPath } from '../openai/index.ts';

/** The query parameters of the list; any other is not sent. */
const MODELS_QUERY = ['limit', 'after_id', 'before_id'] as const;

/**
 * The list's pagination, re-encoded: without `after_id` every page would be the first, and an SDK that
 * follows `has_more` would loop forever. Values are sent as given (Anthropic validates them, e.g.
 * `limit` 1-1000), never spliced in unencoded.
 */
function modelsQuery(query: string | undefined, wholeList: boolean): string {
  const given = new URLSearchParams(query ?? '');
  const sent = new URLSearchParams();
  for (const name of MODELS_QUERY) {
    const v = given.get(name);
    if (v !== null && v !== '') sent.set(name, v);
  }
  // OpenAI's list has no pages: its clients get Anthropic's largest one (every model it has)
  if (wholeList && !sent.has('limit')) sent.set('limit', '1000');
  const q = sent.toString();
  return q === '' ? '' : `?${q}`;
}

/**
 * The path of the list (model '') with its pagination, or of one model, its id encoded as the SDK
 * does. `forOpenai`: the answer is translated for an OpenAI client, which does not page.
 */
export function modelsPath(model: string, query: string | undefined, forOpenai = false): string {
  return model === '' ? `/v1/models${modelsQuery(query, forOpenai)}` : `/v1/models${oneModelPath(model)}`;
}

/** Anthropic's ModelInfo: `{type: "model", id, display_name, created_at}` (RFC 3339). */
const ModelInfoSchema = z.looseObject({
  type: z.literal('model'),
  id: z.string(),
  created_at: z.string(),
});

export interface OpenaiModel {
  id: string;
  object: 'model';
  /** Unix seconds. */
  created: number;
  owned_by: string;
}

const ModelListSchema = z.looseObject({ data: z.array(z.unknown()) });

/** The list (one page: the whole list, see modelsPath) or one model, in OpenAI's shapes. */
export function toOpenaiModels(body: unknown): OpenaiModel | { object: 'list'; data: OpenaiModel[] } {
  const list = ModelListSchema.safeParse(body);
  if (list.success) return { object: 'list', data: list.data.data.map(toOpenaiModel) };
  return toOpenaiModel(body);
}

/** One Anthropic model as OpenAI's model object. Throws for anything else. */
export function toOpenaiModel(body: unknown): OpenaiModel {
  const parsed = ModelInfoSchema.safeParse(body);
  if (!parsed.success) throw new Error('Anthropic response is not a model');
  const ms = Date.parse(parsed.data.created_at);
  return { id: parsed.data.id, object: 'model', created: Number.isFinite(ms) ? Math.floor(ms / 1000) : 0, owned_by: 'anthropic' };
}
