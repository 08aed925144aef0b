import type { LimitStore, SettleItem } from '../stores/index.ts';

/**
 * Collects the settlements of finished calls and sends them as one store call per second-bucket,
 * the deltas of the same limit added up: at the next turn of the event loop, or just before a
 * limit check issued sooner (which then sees them: the store runs commands in order, and both
 * leave in one write). Under load the calls finishing together settle in one round trip; at low
 * load a call settles right after its answer, off the next call's path: holding settlements back
 * to ride with the next check was measured slower (the check then waits for both scripts). Other
 * replicas see a settlement within a round trip; until then they count the reservation.
 */
export class SettleBatcher {
  private readonly groups = new Map<number, { reservedAt: number; items: Map<string, SettleItem> }>();
  private timer: NodeJS.Immediate | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LimitStore,
    private readonly onError: (e: unknown) => void,
  ) {}

  add(reservedAt: number, items: readonly SettleItem[]): void {
    // Deltas land in the bucket their reservation went to: group by the reservation's second.
    const second = Math.floor(reservedAt / 1000);
    let g = this.groups.get(second);
    if (!g) this.groups.set(second, (g = { reservedAt, items: new Map() }));
    for (const item of items) {
      const key = `${item.scope}\u0000${item.id}\u0000${item.kind}\u0000${item.window}\u0000${item.limit}`;
      const prev = g.items.get(key);
      g.items.set(key, prev ? { ...prev, delta: prev.delta + item.delta } : { ...item });
    }
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
      if (items.length > 0) sent.push(this.store.settle({ now, reservedAt: g.reservedAt, items }).catch(this.onError));
    }
    this.groups.clear();
    this.inFlight = Promise.all(sent).then(() => undefined);
    return this.inFlight;
  }
}
