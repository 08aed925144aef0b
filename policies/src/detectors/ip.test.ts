import { describe, expect, test } from 'vitest';
import { found } from './found.test-helper.ts';
import { ipv4, ipv6 } from './ip.ts';

const ip = [ipv4, ipv6] as const;

describe('IP address detector', () => {
  test.each([
    ['private IPv4', 'host 192.168.1.10 is down', ['192.168.1.10']],
    ['IPv4 ending a sentence', 'connect to 10.0.0.1.', ['10.0.0.1']],
    ['IPv4 with a port', '8.8.8.8:53', ['8.8.8.8']],
    ['compressed IPv6', 'addr 2001:db8::1 ok', ['2001:db8::1']],
    ['full IPv6', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', ['2001:0db8:85a3:0000:0000:8a2e:0370:7334']],
    ['link-local IPv6', 'fe80::1ff:fe23:4567:890a', ['fe80::1ff:fe23:4567:890a']],
    ['IPv4-mapped IPv6 (one match, not two)', 'from ::ffff:192.0.2.1', ['::ffff:192.0.2.1']],
  ] as const)('finds %s', (_title, text, expected) => {
    expect(found(ip, text)).toEqual(expected);
  });

  test.each([
    ['an octet above 255', '300.1.1.1'],
    ['five dotted numbers', 'oid 1.2.3.4.5'],
    ['a three-part version', 'v1.2.3'],
    ['a clock time', 'at 10:30:00'],
    ['a C++ scope', 'std::vector<int>'],
    ['IPv6 with too few groups and no ::', '2001:db8:1'],
    ['two :: in one address', '1::2::3'],
  ] as const)('ignores %s', (_title, text) => {
    expect(found(ip, text)).toEqual([]);
  });
});
