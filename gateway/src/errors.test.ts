import { describe, expect, test } from 'vitest';
import { toGatewayError } from './errors.ts';
import { StoreUnavailableError } from './stores/errors.ts';

describe('toGatewayError', () => {
  test('a key store outage is a 503 to retry, recorded as a call that could not be authenticated, not as a gateway bug', () => {
    const err = toGatewayError(new StoreUnavailableError('keys', new Error('ECONNREFUSED')));
    expect(err).toMatchObject({ status: 503, code: 'keys_unavailable', outcome: 'unauthorized', headers: { 'retry-after': '1' } });
    // nothing of the store's own error reaches the client
    expect(err.message).not.toContain('ECONNREFUSED');
  });

  test('anything else unexpected is a 500 internal_error without its details', () => {
    const err = toGatewayError(new TypeError('cannot read properties of undefined (secret-ish detail)'));
    expect(err).toMatchObject({ status: 500, code: 'internal_error', outcome: 'internal_error' });
    expect(err.message).not.toContain('secret-ish');
  });
});
