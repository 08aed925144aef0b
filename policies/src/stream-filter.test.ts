import { describe, expect, test } from 'vitest';
import { compile, EMAIL, meta, OPENAI_KEY } from './fixtures.test-helper.ts';
import { createStreamFilters, holdFrom, type StreamTextFilter } from './stream-filter.ts';

const ctx = { endpoint: 'chat', model: 'gpt-4o', meta } as const;

/** Splits text into chunks of `size` characters, like token deltas. */
const chunks = (text: string, size: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
};

/** Feeds `text` in chunks; returns every piece let out and their concatenation. */
function run(f: StreamTextFilter, text: string, size: number): { out: string[]; sent: string } {
  const out = chunks(text, size).map((c) => f.push(c));
  out.push(f.end());
  return { out, sent: out.join('') };
}

const redactSet = compile([{ name: 'redact-secrets', detect: ['email', 'api_key', 'credit_card', 'phone'], action: 'redact' }]);

describe('createStreamFilters', () => {
  test.each([1, 2, 5, 13, 1000])('redacts matches split across chunks of %i characters, and lets nothing of them out first', (size) => {
    const f = createStreamFilters(redactSet, ctx)!.text(0);
    const text = `Mail ${EMAIL}, key ${OPENAI_KEY}, card 4111 1111 1111 1111, call +44 20 7946 0958 today. Bye ${EMAIL}`;
    const { out, sent } = run(f, text, size);
    expect(sent).toBe('Mail [EMAIL_1], key [API_KEY_1], card [CREDIT_CARD_1], call [PHONE_1] today. Bye [EMAIL_1]');
    // no piece ever carried a part of a secret: every secret fragment of 4+ characters is absent
    for (const secret of [EMAIL, OPENAI_KEY, '4111 1111 1111 1111', '+44 20 7946 0958']) {
      for (const piece of out) {
        for (let i = 0; i + 4 <= secret.length; i++) {
          const frag = secret.slice(i, i + 4);
          if (/\s/.test(frag) || !/[\d@]|sk-/.test(frag)) continue;
          expect(piece.includes(frag), `"${frag}" of ${secret} in "${piece}"`).toBe(false);
        }
      }
    }
  });

  test('holds back only the word in progress: plain prose flows with at most a word of delay', () => {
    const f = createStreamFilters(redactSet, ctx)!.text(0);
    expect(f.push('Hello the')).toBe('Hello ');
    expect(f.push('re, how ')).toBe('there, how ');
    expect(f.push('are you')).toBe('are ');
    expect(f.end()).toBe('you');
  });

  test('holds digit groups that a card or phone number may continue, and lets them go when a word ends the run', () => {
    expect(holdFrom('I paid 4111 1111 ')).toBe('I paid '.length);
    expect(holdFrom('I paid 4111 1111 11')).toBe('I paid '.length);
    expect(holdFrom('In 2024 ')).toBe('In '.length);
    expect(holdFrom('In 2024 we ')).toBe('In 2024 we '.length);
    expect(holdFrom('In 2024 we grew')).toBe('In 2024 we '.length);
    expect(holdFrom('ok ')).toBe(3);
  });

  test('a long run without spaces is let out but for its tail', () => {
    const f = createStreamFilters(redactSet, ctx)!.text(0);
    const blob = 'x'.repeat(1000);
    const first = f.push(blob);
    expect(first.length).toBeGreaterThan(900);
    expect(first + f.end()).toBe(blob);
  });

  test('a long run without spaces (CJK, emoji) is never cut between the halves of a surrogate pair', () => {
    // every cut position: a run of emoji (each two UTF-16 units) with one more unit before it or not
    for (const lead of ['', 'a']) {
      for (const size of [1, 3, 7, 64, 65]) {
        const f = createStreamFilters(redactSet, ctx)!.text(0);
        const text = lead + '日本語💪'.repeat(60);
        const pieces = [...chunks(text, size).map((c) => f.push(c)), f.end()];
        expect(pieces.join('')).toBe(text);
        const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
        for (const p of pieces) expect(lone.test(p), `${lead}/${size}: ${JSON.stringify(p.slice(-2))}`).toBe(false);
      }
    }
  });

  test('deny policies hold back without rewriting; texts of one answer share placeholders', () => {
    const set = compile([
      { name: 'no-keys', detect: ['api_key'], action: 'deny', stage: 'post' },
      { name: 'mask-mail', detect: ['email'], action: 'redact', stage: 'post' },
    ]);
    const filters = createStreamFilters(set, ctx)!;
    expect(filters.redacts).toBe(true);
    const a = filters.text(0);
    const b = filters.text(1);
    // the key's first half is held: the scanner, which sees all of it, ends the stream instead
    expect(a.push(`key ${OPENAI_KEY.slice(0, 20)}`)).toBe('key ');
    expect(b.push(`to ${EMAIL} ok`)).toBe('to [EMAIL_1] ');
    expect(a.push(` and ${EMAIL} `)).toBe(`${OPENAI_KEY.slice(0, 20)} and [EMAIL_1] `);
  });

  test('is null when no enforced redact or deny policy applies to the call (the stream passes untouched)', () => {
    expect(createStreamFilters(compile([{ name: 'f', detect: ['email'], action: 'flag' }]), ctx)).toBeNull();
    expect(createStreamFilters(compile([{ name: 's', detect: ['email'], action: 'redact', mode: 'shadow' }]), ctx)).toBeNull();
    expect(createStreamFilters(compile([{ name: 'p', detect: ['email'], action: 'redact', stage: 'pre' }]), ctx)).toBeNull();
    expect(createStreamFilters(compile([{ name: 'm', detect: ['email'], action: 'redact', match: { model: 'claude-*' } }]), ctx)).toBeNull();
  });

  const PEM_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
  /** True positives of every built-in detector (shapes from the detectors' own tests). */
  const SECRETS: ReadonlyArray<[string, string]> = [
    ['email', EMAIL],
    ['api_key', OPENAI_KEY],
    ['credit_card', '4111 1111 1111 1111'],
    ['credit_card', '4111-1111-1111-1111'],
    ['phone', '+44 20 7946 0958'],
    ['phone', '+1 (415) 555-2671'],
    ['phone', '06 12 34 56 78'],
    ['iban', 'DE89 3704 0044 0532 0130 00'],
    ['iban', 'GB82 WEST 1234 5698 7654 32'],
    ['national_id', '123-45-6789'],
    ['national_id', '1 85 05 78 006 084 91'],
    ['ip_address', '192.168.100.200'],
    ['private_key', `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n${PEM_BODY}\nAbCd==\n-----END RSA PRIVATE KEY-----`],
  ];
  const all = compile([
    { name: 'mask', detect: ['email', 'api_key', 'credit_card', 'phone', 'iban', 'national_id', 'ip_address', 'private_key'], action: 'redact' },
  ]);

  test.each(SECRETS.flatMap(([d, v]) => [1, 2, 3, 7].map((size) => [d, v, size] as const)))(
    'a %s (%s) streamed in chunks of %i leaves only as its placeholder',
    (_detector, secret, size) => {
      const f = createStreamFilters(all, ctx)!.text(0);
      const { out, sent } = run(f, `Here it is: ${secret} and more words after.`, size);
      expect(sent).toMatch(/^Here it is: \[[A-Z_]+_1\] and more words after\.$/);
      // what left before the placeholder holds no piece of the secret either
      const before = out.join('').split('[')[0]!;
      expect(before).toBe('Here it is: ');
      for (const piece of out) {
        const frags = secret.split(/\s+/).filter((w) => w.length >= 3 && !/^-+BEGIN|^-+END|^RSA$|^PRIVATE$/.test(w));
        for (const frag of frags) expect(piece).not.toContain(frag);
      }
    },
  );

  test.each([1, 2, 5, 1000])('a JSON answer streamed in chunks of %i: secrets after escapes leave as placeholders, the JSON stays valid', (size) => {
    const f = createStreamFilters(redactSet, ctx)!.text(0);
    const json = JSON.stringify({ note: `a\n${OPENAI_KEY}`, mail: `\n${EMAIL}`, card: '\t4111111111111111' });
    const { out, sent } = run(f, json, size);
    expect(JSON.parse(sent)).toEqual({ note: 'a\n[API_KEY_1]', mail: '\n[EMAIL_1]', card: '\t[CREDIT_CARD_1]' });
    for (const piece of out) for (const frag of ['Ab3dEf', 'jane.doe', '41111111']) expect(piece).not.toContain(frag);
  });

  test.each([1, 3])('a grouped IBAN right after a long JSON key is held whole (chunks of %i)', (size) => {
    const set = compile([{ name: 'mask', detect: ['iban'], action: 'redact', stage: 'post' }]);
    const f = createStreamFilters(set, ctx)!.text(0);
    const { out, sent } = run(f, '{"customer_bank_account_international_number":"DE89 3704 0044 0532 0130 00"}', size);
    expect(sent).toBe('{"customer_bank_account_international_number":"[IBAN_1]"}');
    for (const piece of out) expect(piece).not.toContain('DE89');
  });

  test('a JSON escape ends the word in progress, and a long word is never cut inside an escape', () => {
    expect(holdFrom('{"a":"x\\nsk-pr')).toBe('{"a":"x\\n'.length);
    // a word over MAX_WORD is let out but for its last 64 characters; here that cut would split `\\u0040`
    const long = `${'x'.repeat(300)}\\u0040${'y'.repeat(61)}`;
    expect(long.length - 64).toBe(303);
    expect(holdFrom(long)).toBe(300);
  });

  test('a block longer than a rescan step is still held whole and masked', () => {
    const f = createStreamFilters(all, ctx)!.text(0);
    // ~6,500 characters in 3-character tokens: held past LONG_HELD, rescanned every RESCAN characters
    const body = Array.from({ length: 100 }, () => PEM_BODY).join('\n');
    const { out, sent } = run(f, `key: -----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY----- done`, 3);
    expect(sent).toBe('key: [PRIVATE_KEY_1] done');
    for (const piece of out) expect(piece).not.toContain('MIIEvQ');
  });

  const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  test.each([
    ['a credentials file', `aws_secret_access_key = ${AWS_SECRET}\n`],
    ['AWS CLI JSON output', `{"SecretAccessKey": "${AWS_SECRET}"}`],
    ['YAML', `secret_access_key: '${AWS_SECRET}'`],
    ['a spaced label', `secret access key = ${AWS_SECRET}\n`],
  ] as const)('an AWS secret key after its label (%s) never leaves, wherever the stream splits', (_title, text) => {
    const set = compile([{ name: 'mask', detect: ['api_key'], action: 'redact', stage: 'post' }]);
    for (let i = 1; i < text.length; i++) {
      for (const size of [0, 1, 3]) {
        const f = createStreamFilters(set, ctx)!.text(0);
        const pieces = size === 0 ? [text.slice(0, i), text.slice(i)] : [text.slice(0, i), ...chunks(text.slice(i), size)];
        const sent = pieces.map((p) => f.push(p)).join('') + f.end();
        expect(sent, `split at ${i}`).not.toContain('wJalrXUt');
        expect(sent).toContain('[API_KEY_1]');
      }
    }
  });

  test('a held AWS label lets go once what follows is no value', () => {
    expect(holdFrom('the secret ')).toBe('the '.length);
    expect(holdFrom('the secret sauce ')).toBe('the secret sauce '.length);
    expect(holdFrom('aws_secret_access_key = ')).toBe('aws_'.length);
  });
});

describe('long words', () => {
  const b64url = (n: number, seed: number): string => {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let s = '';
    for (let i = 0; i < n; i++) s += abc[(i * 7 + seed * 13 + ((i * i) % 11)) % 64];
    return s;
  };
  // a ~450-character JWT: header, payload and signature, base64url
  const JWT = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ${b64url(300, 1)}.${b64url(110, 2)}`;
  const keys = compile([{ name: 'mask', detect: ['api_key'], action: 'redact', stage: 'post' }]);

  test.each(['plain', 'JSON'] as const)('a long JWT (%s) leaves only as its placeholder, wherever the stream splits', (form) => {
    expect(JWT.length).toBeGreaterThan(440);
    const text = form === 'plain' ? `Bearer ${JWT} was the token.` : JSON.stringify({ auth: `x\n${JWT}`, n: 1 });
    const expected = form === 'plain' ? 'Bearer [API_KEY_1] was the token.' : JSON.stringify({ auth: 'x\n[API_KEY_1]', n: 1 });
    for (let i = 1; i < text.length; i += 3) {
      for (const size of [0, 1, 7, 64]) {
        const f = createStreamFilters(keys, ctx)!.text(0);
        const pieces = size === 0 ? [text.slice(0, i), text.slice(i)] : [text.slice(0, i), ...chunks(text.slice(i), size)];
        const out = pieces.map((p) => f.push(p));
        out.push(f.end());
        expect(out.join(''), `split at ${i}, then ${size}`).toBe(expected);
        for (const piece of out) expect(piece, `split at ${i}, then ${size}`).not.toContain('eyJ');
      }
    }
  });

  test('ordinary long words are still let out, but for their tail', () => {
    const url = `https://example.com/${'path/'.repeat(196)}end`;
    const data = b64url(1000, 3); // base64 that is no JWT
    const notJwt = `eyJ${b64url(2000, 4)}`; // a JWT header only: held up to the bound, then let out
    expect(url.length).toBeGreaterThan(1000);
    for (const word of [url, data, `x.${data}`, `eyJhbGc.eyJ1.sig.${data}`]) {
      expect(holdFrom(`see ${word}`), word.slice(0, 20)).toBe(`see ${word}`.length - 64);
    }
    const f = createStreamFilters(keys, ctx)!.text(0);
    const { out, sent } = run(f, `${url} ${data} done`, 5);
    expect(sent).toBe(`${url} ${data} done`);
    // nothing waits for the end: at most a word's tail of 64 characters is held at any time
    let sentSoFar = 0;
    const g = createStreamFilters(keys, ctx)!.text(0);
    const text = `${url}${data}`;
    for (const c of chunks(text, 5)) {
      sentSoFar += g.push(c).length;
    }
    expect(text.length - sentSoFar).toBeLessThan(64 + 256 + 5);
    expect(out.length).toBeGreaterThan(1);
    // a JWT-shaped run is held, but not beyond a few kilobytes
    expect(holdFrom(`see ${notJwt.slice(0, 1500)}`)).toBe(4);
    expect(holdFrom(`see ${notJwt}.eyJ${b64url(7000, 5)}`)).toBe(`see ${notJwt}.`.length);
    expect(holdFrom(`see ${notJwt}${b64url(7000, 5)}`)).toBe(`see ${notJwt}`.length + 7000 - 64);
  });
});

describe('IBANs in groups', () => {
  const ibans = compile([{ name: 'mask', detect: ['iban', 'phone'], action: 'redact', stage: 'post' }]);
  test.each([
    'gb82 west 1234 5698 7654 32',
    'nl91 abna 0417 1643 00',
    'de89 3704 0044 0532 0130 00',
    'GB82 WEST 1234 5698 7654 32',
    'NL91 ABNA 0417 1643 00',
  ])('%s leaves only as its placeholder, wherever the stream splits', (iban) => {
    const text = `Pay to ${iban} today please.`;
    for (let i = 1; i < text.length; i++) {
      for (const size of [0, 1, 2, 5]) {
        const f = createStreamFilters(ibans, ctx)!.text(0);
        const pieces = size === 0 ? [text.slice(0, i), text.slice(i)] : [text.slice(0, i), ...chunks(text.slice(i), size)];
        const out = pieces.map((p) => f.push(p));
        out.push(f.end());
        expect(out.join(''), `split at ${i}, then ${size}`).toBe('Pay to [IBAN_1] today please.');
      }
    }
  });

  test('lower-case prose is not held as groups', () => {
    expect(holdFrom('we paid the west wing ')).toBe('we paid the west wing '.length);
    expect(holdFrom('In 2024 we grew')).toBe('In 2024 we '.length);
    expect(holdFrom('iban gb82 west 12')).toBe('iban '.length);
    expect(holdFrom('iban gb82 west ')).toBe('iban '.length);
  });
});

describe('numbers in the newer written forms', () => {
  const all = compile([{ name: 'mask', detect: ['credit_card', 'phone', 'iban'], action: 'redact', stage: 'post' }]);
  test.each([
    ['4111.1111.1111.1111', 'CREDIT_CARD'],
    ['4111  1111  1111  1111', 'CREDIT_CARD'],
    ['4111\u00a01111\u00a01111\u00a01111', 'CREDIT_CARD'],
    ['415 555 2671', 'PHONE'],
    ['1-800-555-0199', 'PHONE'],
    ['0044 20 7946 0958', 'PHONE'],
    ['DE89-3704-0044-0532-0130-00', 'IBAN'],
  ])('%s leaves only as its placeholder, wherever the stream splits', (secret, label) => {
    const text = `Use ${secret} today.`;
    for (let i = 1; i < text.length; i++) {
      for (const size of [0, 1, 3]) {
        const f = createStreamFilters(all, ctx)!.text(0);
        const pieces = size === 0 ? [text.slice(0, i), text.slice(i)] : [text.slice(0, i), ...chunks(text.slice(i), size)];
        const out = pieces.map((p) => f.push(p));
        out.push(f.end());
        expect(out.join(''), `split at ${i}, then ${size}`).toBe(`Use [${label}_1] today.`);
      }
    }
  });

  test('a ZIP+4 code is no phone number', () => {
    const f = createStreamFilters(all, ctx)!.text(0);
    const { sent } = run(f, 'Boston, MA 02134-1234, USA', 2);
    expect(sent).toBe('Boston, MA 02134-1234, USA');
  });
});
