import { SettleNotSentError } from '../stores/errors.ts';
import type { LimitStore, SettleItem } from '../stores/index.ts';

type Groups = Map<number, { reservedAt: number; items: Map<string, SettleItem> }>;

/** Settlements held for a store that could not be reached, at most (limits held apart, summed). */
export const MAX_HELD_ITEMS = 10_000;
/** How long held settlements wait before they are sent again. */
export const HELD_RETRY_MS = 1_000;

/**
 * Collects the settlements of finished calls and sends them as one store call per second-bucket,
 * the deltas of the same limit added up: at the next turn of the event loop, or just before a
 * limit check issued sooner (which then sees them: the store runs commands in order, and both
 * leave in one write). Under load the calls finishing together settle in one round trip; at low
 * load a call settles right after its answer, off the next call's path: holding settlements back
 * to ride with the next check was measured slower (the check then waits for both scripts). Other
 * replicas see a settlement within a round trip; until then they count the reservation.
 *
 * A settlement the store refused unsent (Redis down: `SettleNotSentError`) is held and sent again
 * every HELD_RETRY_MS until Redis takes it, so a call admitted uncounted during an outage
 * (fail_mode open) that also ends during it is still charged once Redis is back. At most
 * MAX_HELD_ITEMS limits' settlements are held; past that they are dropped, reported through
 * `onError`.
 */
export class SettleBatcher {
  private readonly groups: Groups = new Map();
  private readonly held: Groups = new Map();
  private heldItems = 0;
  private timer: NodeJS.Immediate | null = null;
  private retry: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LimitStore,
    private readonly onError: (e: unknown) => void,
  ) {}

  add(reservedAt: number, items: readonly SettleItem[]): void {
    addTo(this.groups, reservedAt, items);
    this.timer ??= setImmediate(() => void this.flush());
  }

  /**
   * Sends what is pending now: the store calls are issued synchronously, so a check issued right
   * after this call is ordered after them. Resolves when everything sent so far has settled.
   */
  flush(): Promise<void> {
    if (this.timer !== null) clearImmediate(this.timer);
    this.timer = null;
    if (this.groups.size === 0) return this.inFlight;
    const now = Date.now();
    const sent: Promise<void>[] = [this.inFlight];
    for (const g of this.groups.values()) {
      const items = [...g.items.values()].filter((i) => i.delta !== 0);
      if (items.length > 0) sent.push(this.store.settle({ now, reservedAt: g.reservedAt, items }).catch((e: unknown) => this.failed(g.reservedAt, items, e)));
    }
    this.groups.clear();
    this.inFlight = Promise.all(sent).then(() => undefined);
    return this.inFlight;
  }

  /** Drops held settlements and their retry (shutdown, tests). */
  close(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    this.held.clear();
    this.heldItems = 0;
  }

  private failed(reservedAt: number, items: SettleItem[], e: unknown): void {
    if (!(e instanceof SettleNotSentError)) return this.onError(e);
    const room = MAX_HELD_ITEMS - this.heldItems;
    if (room < items.length) this.onError(new Error(`${items.length - Math.max(0, room)} limit settlements dropped: ${MAX_HELD_ITEMS} already held for the store`, { cause: e }));
    if (room <= 0) return;
    this.heldItems += addTo(this.held, reservedAt, items.slice(0, room));
    this.retry ??= setTimeout(() => this.resend(), HELD_RETRY_MS).unref();
  }

  /** Moves the held settlements back to the pending ones and sends them. */
  private resend(): void {
    this.retry = null;
    for (const g of this.held.values()) addTo(this.groups, g.reservedAt, [...g.items.values()]);
    this.held.clear();
    this.heldItems = 0;
    void this.flush();
  }
}

/**
 * Adds items to their reservation's second-bucket (deltas land in the bucket their reservation went
 * to), summing deltas of the same limit. Returns how many limits were new to the groups.
 */
function addTo(groups: Groups, reservedAt: number, items: readonly SettleItem[]): number {
  const second = Math.floor(reservedAt / 1000);
  let g = groups.get(second);
  if (!g) groups.set(second, (g = { reservedAt, items: new Map() }));
  let added = 0;
  for (const item of items) {
    const key = `${item.scope}\u0000${item.id}\u0000${item.kind}\u0000${item.window}\u0000${item.limit}`;
    const prev = g.items.get(key);
    if (!prev) added++;
    g.items.set(key, prev ? { ...prev, delta: prev.delta + item.delta } : { ...item });
  }
  return added;
}
