import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then a 12-bit counter (rand_a, the
 * "fixed bit-length dedicated counter" of §6.2 method 1) and 62 random bits. Ids made by one process
 * sort, as text, in the order they were made, so rows sharing a timestamp (events of one batch sent
 * without `ts`) keep that order under `ORDER BY ts, event_id`. A counter that runs out within one
 * millisecond moves on to the next.
 */
export function orderedId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  const b = randomFillSync(Buffer.alloc(16));
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
