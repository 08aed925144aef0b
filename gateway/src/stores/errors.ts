/**
 * A shared store (Redis) could not answer in time. With `failMode: 'closed'` the limit store throws
 * this and the gateway answers 503; the key store always throws it (an unknown key cannot be let
 * through). `store` names which store failed, for the message and /metrics.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly status = 503;
  constructor(
    readonly store: 'limits' | 'cache' | 'keys',
    cause: unknown,
  ) {
    super(`${store} store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
