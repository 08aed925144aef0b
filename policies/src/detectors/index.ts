import { apiKey, awsSecretKey } from './api-key.ts';
import { creditCard } from './card.ts';
import { email } from './email.ts';
import { iban } from './iban.ts';
import { ipv4, ipv6 } from './ip.ts';
import { nationalId } from './national-id.ts';
import { phone } from './phone.ts';
import { privateKey } from './private-key.ts';
import type { Detector } from './types.ts';

/** Built-in detector classes, as written in `detect:`. */
export const DETECTOR_NAMES = [
  'email',
  'phone',
  'credit_card',
  'iban',
  'national_id',
  'ip_address',
  'api_key',
  'private_key',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/**
 * The regexes behind each class, in priority order: when two classes claim overlapping text the
 * earlier one wins (a PEM block over the e-mail in its comment, an API key over a phone-like run
 * inside it, a card over a phone).
 */
export const DETECTORS: Readonly<Record<DetectorName, readonly Detector[]>> = {
  private_key: [privateKey],
  api_key: [apiKey, awsSecretKey],
  credit_card: [creditCard],
  iban: [iban],
  national_id: [nationalId],
  email: [email],
  ip_address: [ipv4, ipv6],
  phone: [phone],
};

export const PRIORITY: Readonly<Record<DetectorName, number>> = {
  private_key: 0,
  api_key: 1,
  credit_card: 2,
  iban: 3,
  national_id: 4,
  email: 5,
  ip_address: 6,
  phone: 7,
};
