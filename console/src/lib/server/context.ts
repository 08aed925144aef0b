import type { IncomingMessage } from 'node:http';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * What the console needs from its host: a ClickHouse client, the database the events live in, and
 * the admin token that opens the console.
 *
 * In the one-process default the gateway serves the console under `/console` and hands its own
 * client over with each request (`attachConsoleContext`, read back from SvelteKit's
 * `platform.req`): chDB opens one data folder per process, so the console could not open the
 * gateway's embedded store a second time. Deployed on its own (`node console/build`), the console
 * builds the same from the gateway's environment variables (connect.ts).
 */
export interface ConsoleContext {
  client: ClickHouseClient;
  /** validated identifier: spliced into SQL as `${database}.requests` */
  database: string;
  /** WATCHLLM_ADMIN_TOKEN; without one the console stays shut */
  adminToken: string | undefined;
  /**
   * Wrong tokens per client address, shared with the admin API: the gateway's (sign-in-throttle.ts).
   * A console deployed on its own has none (put it behind a proxy that limits sign-in attempts).
   */
  signIns?: SignInGuard;
}

/** Refuses an address that sent too many wrong admin tokens, for a while. */
export interface SignInGuard {
  /** milliseconds until `address` may try again; 0 when it may now */
  waitMs(address: string): number;
  failed(address: string): void;
  succeeded(address: string): void;
}

const KEY = Symbol.for('watchllm.console.context');
type Carrier = { [KEY]?: ConsoleContext };

/** Called by the gateway before it passes a request to the console's handler. */
export function attachConsoleContext(req: IncomingMessage, ctx: ConsoleContext): void {
  (req as Carrier)[KEY] = ctx;
}

export function attachedConsoleContext(req: IncomingMessage | undefined): ConsoleContext | undefined {
  return req ? (req as Carrier)[KEY] : undefined;
}
