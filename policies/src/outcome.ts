import type { Decision, ResponseDecision } from './types.ts';

/** The one-word summary the exchange's `policies.outcome` holds. */
export function outcomeOf(d: Decision | ResponseDecision): 'allowed' | 'denied' | 'redacted' | 'flagged' {
  if (d.kind === 'deny') return 'denied';
  if (d.matches.some((m) => m.applied && m.action === 'redact')) return 'redacted';
  if (d.matches.length > 0) return 'flagged';
  return 'allowed';
}
