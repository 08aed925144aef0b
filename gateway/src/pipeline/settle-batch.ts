import type { LimitStore, SettleItem } from '../stores/index.ts';

/**
 * Collects the settlements of the calls that finish in the same turn of the event loop (and while a
 * previous batch is still on its way) and sends them as one store call per second-bucket, the deltas
 * of the same limit added up. Under load this saves most settle round trips; at low load a call is
 * settled right away, so the next call of a sequential client sees the real spend, not the reservation.
 */
export class SettleBatcher {
  private readonly groups = new Map<number, { reservedAt: number; items: Map<string, SettleItem> }>();
  private scheduled = false;
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
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Sends what is pending (also on shutdown). */
  flush(): Promise<void> {
    this.scheduled = false;
    const groups = [...this.groups.values()];
    this.groups.clear();
    const now = Date.now();
    this.inFlight = this.inFlight.then(async () => {
      for (const g of groups) {
        const items = [...g.items.values()].filter((i) => i.delta !== 0);
        if (items.length === 0) continue;
        try {
          await this.store.settle({ now, reservedAt: g.reservedAt, items });
        } catch (e) {
          this.onError(e);
        }
      }
    });
    return this.inFlight;
  }
}
