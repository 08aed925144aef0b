/**
 * @watchllm/policies: central checks and redaction, as pure functions. Compile a policy list
 * once with `parsePolicies`, then evaluate each request before it leaves (`evaluateRequest`),
 * each answer (`evaluateResponse`, or `createResponseScanner` for streams), and redact what is
 * stored (`redactText`). No I/O, no clock.
 */
export {
  parsePolicies,
  PoliciesSchema,
  PolicySchema,
  MatchSchema,
  ENDPOINTS,
  type EndpointName,
  type ParseResult,
  type PolicyAction,
  type PolicyConfig,
  type PolicyIssue,
  type PolicyMode,
  type PolicySelector,
  type RuleName,
  type StoredMode,
} from './schema.ts';
export type { CompiledPolicySet } from './compile.ts';
export { DETECTOR_NAMES, type DetectorName } from './detectors/index.ts';
export { evaluateRequest } from './evaluate.ts';
export { evaluateResponse, redactText } from './response.ts';
export { Placeholders } from './redact.ts';
export { createResponseScanner, type ResponseScanner, type ScanResult, type ScanStep } from './scanner.ts';
export { compileGlob } from './glob.ts';
export { answerPolicyTag, watchesAnswers } from './select.ts';
export { createStreamFilters, type StreamFilters, type StreamTextFilter } from './stream-filter.ts';
export { outcomeOf } from './outcome.ts';
export { mapText } from './text.ts';
export type {
  CallContext,
  CallMeta,
  Decision,
  DenyDecision,
  RequestInput,
  ResponseDecision,
  ResponseInput,
  RuleMatch,
} from './types.ts';
