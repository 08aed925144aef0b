import { describe, expect, test } from 'vitest';
import { GatewayError } from '../errors.ts';
import { providerRetryAfterMs, retriesFor, retryDelayMs, type RetrySettings } from './retry.ts';

const settings: RetrySettings = { attempts: 2, max_per_call: 3, backoff_ms: 500, max_wait_ms: 10_000 };

describe('retriesFor', () => {
  test('the config holds unless the call sends x-watchllm-retries', () => {
    expect(retriesFor({}, settings)).toBe(2);
    expect(retriesFor({ 'x-watchllm-retries': '' }, settings)).toBe(2);
    expect(retriesFor({ 'x-watchllm-retries': '0' }, settings)).toBe(0);
    expect(retriesFor({ 'x-watchllm-retries': ' 3 ' }, settings)).toBe(3);
    // with retries off by default, a call may still ask for up to max_per_call
    expect(retriesFor({ 'x-watchllm-retries': '3' }, { ...settings, attempts: 0 })).toBe(3);
    // a config above max_per_call: the header may ask for as many
    expect(retriesFor({ 'x-watchllm-retries': '5' }, { ...settings, attempts: 5 })).toBe(5);
  });

  test.each(['4', '6', '-1', '1.5', 'two', '10'])('%j is a 400 naming the header (max_per_call 3)', (v) => {
    let err: unknown;
    try {
      retriesFor({ 'x-watchllm-retries': v }, settings);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    expect((err as GatewayError).param).toBe('x-watchllm-retries');
  });
});

describe('providerRetryAfterMs', () => {
  test("OpenAI's retry-after-ms comes before retry-after", () => {
    expect(providerRetryAfterMs({ 'retry-after-ms': '1250', 'retry-after': '2' }, null)).toBe(1250);
  });

  test('retry-after in seconds (fractions too) or as an HTTP date', () => {
    expect(providerRetryAfterMs({ 'retry-after': '3' }, null)).toBe(3000);
    expect(providerRetryAfterMs({ 'retry-after': '0.25' }, null)).toBe(250);
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(providerRetryAfterMs({ 'retry-after': 'Fri, 27 Nov 2026 10:00:07 GMT' }, null, now)).toBe(7000);
    expect(providerRetryAfterMs({ 'retry-after': 'Fri, 27 Nov 2026 09:59:00 GMT' }, null, now)).toBe(0);
  });

  test("Gemini's RetryInfo detail in the error body", () => {
    const body = {
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure' }, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }],
      },
    };
    expect(providerRetryAfterMs({}, body)).toBe(1500);
  });

  test('none named, or nothing readable: null', () => {
    expect(providerRetryAfterMs({}, { error: { message: 'x' } })).toBeNull();
    expect(providerRetryAfterMs({ 'retry-after': 'soon' }, 'not json')).toBeNull();
    // Date.parse would take these for dates long past (no wait at all)
    for (const junk of ['-1', '2.', '+3']) expect(providerRetryAfterMs({ 'retry-after': junk }, null), junk).toBeNull();
  });

  test("Gemini's OpenAI-compatible endpoint: the error in an array", () => {
    const body = [{ error: { code: 429, details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '34s' }] } }];
    expect(providerRetryAfterMs({}, body)).toBe(34_000);
  });
});

describe('retryDelayMs', () => {
  test('doubles per retry, between half and all of the step (jitter), never past max_wait_ms', () => {
    expect(retryDelayMs(1, settings, null, () => 0)).toBe(250);
    expect(retryDelayMs(1, settings, null, () => 1)).toBe(500);
    expect(retryDelayMs(2, settings, null, () => 1)).toBe(1000);
    expect(retryDelayMs(3, settings, null, () => 0.5)).toBe(1500);
    expect(retryDelayMs(9, settings, null, () => 1)).toBe(10_000);
  });

  test("the provider's wait is taken as it is; longer than max_wait_ms means no retry", () => {
    expect(retryDelayMs(1, settings, 4000)).toBe(4000);
    expect(retryDelayMs(1, settings, 10_000)).toBe(10_000);
    expect(retryDelayMs(1, settings, 10_001)).toBeNull();
  });
});
