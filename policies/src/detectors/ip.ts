import type { Detector } from './types.ts';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/**
 * IPv4 dotted quads with octets 0-255 (`300.1.1.1` is not an address). A quad glued to more
 * dotted numbers (`1.2.3.4.5`, an OID or a long version) is skipped; a four-part version number
 * written alone (`1.2.3.4`) is indistinguishable and is reported.
 */
export const ipv4: Detector = {
  id: 'ip_address',
  label: 'IP_ADDRESS',
  re: new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g'),
  mayContain: (text) => text.includes('.'),
};

/**
 * IPv6 in full, compressed (`::`) and IPv4-embedded forms (RFC 4291 §2.2). The regex finds
 * colon-separated hex runs; the validator checks group counts so clock times (`10:30:00`),
 * `std::vector` and MAC-like strings with the wrong group count are not reported.
 */
const V6 = String.raw`(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)`;

/** Hex digits and ':' (what an address is made of before any IPv4 tail). */
function isHexOrColon(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

export const ipv6: Detector = {
  id: 'ip_address',
  label: 'IP_ADDRESS',
  re: new RegExp(V6, 'g'),
  // ':' is common in prose and code; anchoring on it skips the text in between.
  anchor: { literal: ':', back: isHexOrColon, max: 40, sticky: new RegExp(V6, 'y') },
  validate: ipv6Valid,
};

export function ipv6Valid(s: string): boolean {
  let hex = s;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // An IPv4 tail (`::ffff:192.0.2.1`) stands for the last two groups.
    for (const octet of s.slice(lastColon + 1).split('.')) {
      if (octet.length === 0 || Number(octet) > 255) return false;
    }
    hex = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = hex.indexOf('::');
  if (dbl === -1) return allGroups(hex.split(':')) && hex.split(':').length === 8;
  if (hex.indexOf('::', dbl + 1) !== -1) return false;
  const left = hex.slice(0, dbl);
  const right = hex.slice(dbl + 2);
  const groups = [...(left === '' ? [] : left.split(':')), ...(right === '' ? [] : right.split(':'))];
  // At least two groups: `::1` and `a::b`-like tokens are too short to be worth reporting.
  return allGroups(groups) && groups.length >= 2 && groups.length <= 7;
}

function allGroups(groups: string[]): boolean {
  return groups.every((g) => g.length >= 1 && g.length <= 4);
}
