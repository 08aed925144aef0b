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

/**
 * A settlement that never left the gateway: Redis was unreachable and the command was refused
 * before it was sent (ioredis' offline refusal), so it is certain not to have been applied and can
 * be sent again once Redis is back (SettleBatcher keeps it). A settlement that timed out may have
 * been applied: sending it again could count it twice, so it is dropped (a miss, as before).
 */
export class SettleNotSentError extends Error {
  override readonly name = 'SettleNotSentError';
  constructor(cause: unknown) {
    super(`settlement not sent: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
