import { describe, expect, test } from 'vitest';
import { orderedId } from './ordered-id.ts';

describe('orderedId', () => {
  test('UUIDv7: version 7, RFC variant, its time in the first 48 bits', () => {
    const at = Date.UTC(2026, 10, 27, 1, 2, 3, 456);
    const id = orderedId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(at);
  });

  test('ids made one after another sort in that order, within one millisecond too, past 4096 of them', () => {
    const at = Date.UTC(2027, 0, 1);
    const ids = Array.from({ length: 5000 }, () => orderedId(at));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
