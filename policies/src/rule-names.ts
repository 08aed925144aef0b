/** Rule fields of a policy, by the stage they read: the request's shape, or text. */
export const REQUEST_RULES = [
  'allow_models',
  'deny_models',
  'require_metadata',
  'forbid_params',
  'max_tokens',
  'max_messages',
  'max_prompt_chars',
] as const;
export const CONTENT_RULES = ['detect', 'patterns', 'keywords'] as const;
export type RuleName = (typeof REQUEST_RULES)[number] | (typeof CONTENT_RULES)[number] | 'match' | 'set_model';
