import { describe, expect, test } from 'vitest';
import { deadline } from './deadline.ts';

const later = <T>(ms: number, v: T): Promise<T> => new Promise((r) => setTimeout(() => r(v), ms));

describe('deadline', () => {
  test('an answer in time is passed through', async () => {
    await expect(deadline(later(1, 'ok'), 1000, () => new Error('late'))).resolves.toBe('ok');
  });

  test('a call that does not answer in time rejects with the caller\'s error', async () => {
    await expect(deadline(new Promise(() => {}), 5, () => new RangeError('no answer'))).rejects.toThrow(RangeError);
  });

  test('a failure in time is passed through as it is', async () => {
    const cause = new TypeError('refused');
    await expect(deadline(Promise.reject(cause), 1000, () => new Error('late'))).rejects.toBe(cause);
  });
});
