import { describe, expect, test } from 'vitest';
import { compile, EMAIL, meta, OPENAI_KEY } from './fixtures.test-helper.ts';
import type { CompiledPolicySet } from './compile.ts';
import { scanDetector } from './detectors/scan.ts';
import { createResponseScanner } from './scanner.ts';

/** `set` with every detector wrapped to record the length of each text it reads. */
function counting(set: CompiledPolicySet, reads: number[]): CompiledPolicySet {
  return {
    ...set,
    policies: set.policies.map((p) => ({
      ...p,
      content: p.content.map((c) => ({
        ...c,
        detector: {
          ...c.detector,
          scan: (text: string, push: (start: number, end: number) => void) => {
            reads.push(text.length);
            const hits: Parameters<typeof scanDetector>[2] = [];
            scanDetector(c.detector, text, hits, 0);
            for (const h of hits) push(h.start, h.end);
          },
        },
      })),
    })),
  };
}

const ctx = { endpoint: 'chat', model: 'gpt-4o', meta } as const;

/** Splits text into chunks of `size` characters, like token deltas. */
const chunks = (text: string, size: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
};

describe('createResponseScanner', () => {
  test.each([1, 3, 7, 64, 1000])('counts matches spanning chunk boundaries exactly once (chunks of %i)', (size) => {
    const set = compile([{ name: 'watch', detect: ['email', 'api_key'], action: 'flag' }]);
    const s = createResponseScanner(set, ctx);
    const text = `${'lorem ipsum '.repeat(150)}mail ${EMAIL} key ${OPENAI_KEY} ${'dolor '.repeat(300)}and ${EMAIL}`;
    for (const c of chunks(text, size)) expect(s.push(c)).toEqual({ cut: false });
    expect(s.finish()).toEqual({
      cut: false,
      matches: [
        { policy: 'watch', rule: 'detect', action: 'flag', mode: 'enforce', detector: 'email', count: 2, applied: true },
        { policy: 'watch', rule: 'detect', action: 'flag', mode: 'enforce', detector: 'api_key', count: 1, applied: true },
      ],
    });
  });

  test.each([1, 7, 1000])('cuts a JSON answer whose key follows an escape (chunks of %i)', (size) => {
    const set = compile([{ name: 'no-keys', detect: ['api_key'], action: 'deny', stage: 'post' }]);
    const s = createResponseScanner(set, ctx);
    const text = JSON.stringify({ note: `${'a'.repeat(1500)}\n${OPENAI_KEY}`, more: 'x'.repeat(200) });
    let cut = false;
    for (const c of chunks(text, size)) cut ||= s.push(c).cut;
    expect(cut || s.finish().cut).toBe(true);
  });

  test('check() scans short text at once, so a complete match is caught before it is forwarded', () => {
    const set = compile([{ name: 'no-pii', detect: ['email'], action: 'deny', stage: 'post' }]);
    const s = createResponseScanner(set, ctx);
    expect(s.push('Write to ')).toEqual({ cut: false });
    expect(s.check()).toEqual({ cut: false });
    // shorter than a scan step: push alone would wait for more text
    expect(s.push(`${EMAIL} now`)).toEqual({ cut: false });
    expect(s.check()).toMatchObject({ cut: true, policy: 'no-pii' });
    const counts = s.check().cut;
    expect(counts).toBe(true);
  });

  test('asks to cut once a deny match completes, and stays cut', () => {
    const set = compile([{ name: 'no-keys', detect: ['api_key'], action: 'deny', stage: 'post' }]);
    const s = createResponseScanner(set, ctx);
    const steps = chunks(`Sure, the key is ${OPENAI_KEY}. ${'More text. '.repeat(20)}`, 5).map((c) => s.push(c));
    const firstCut = steps.findIndex((st) => st.cut);
    expect(firstCut).toBeGreaterThan(0);
    expect(steps[firstCut]).toEqual({ cut: true, policy: 'no-keys', reason: 'denied by policy "no-keys": content matched api_key' });
    expect(steps.slice(firstCut).every((st) => st.cut)).toBe(true);
    expect(s.finish()).toMatchObject({ cut: true, policy: 'no-keys', matches: [{ detector: 'api_key', count: 1, applied: true }] });
  });

  test('a deny match at the end of the text so far cuts at once, though it may still grow', () => {
    const set = compile([{ name: 'no-mail', detect: ['email'], action: 'deny' }]);
    const s = createResponseScanner(set, ctx);
    // `jane.doe@example.com` may continue (`.au`), but it already matches: forwarding it would leak it
    expect(s.push(`x`.repeat(100) + ` ${EMAIL}`)).toMatchObject({ cut: true, policy: 'no-mail' });
    expect(s.finish()).toMatchObject({ cut: true, policy: 'no-mail', matches: [{ detector: 'email', count: 1, applied: true }] });
  });

  test('a flag match at the end waits for its full extent and is counted once', () => {
    const set = compile([{ name: 'watch-mail', detect: ['email'], action: 'flag' }]);
    const s = createResponseScanner(set, ctx);
    expect(s.push(`x`.repeat(100) + ` ${EMAIL}`)).toEqual({ cut: false });
    expect(s.push('.au and more text')).toEqual({ cut: false });
    expect(s.finish()).toMatchObject({ cut: false, matches: [{ detector: 'email', count: 1 }] });
  });

  test.each([true, false])('a shadow deny records but never cuts; redact is recorded as applied when the stream is redacted (%s)', (redacted) => {
    const set = compile([
      { name: 'try', mode: 'shadow', detect: ['email'], action: 'deny' },
      { name: 'mask', detect: ['email'], action: 'redact' },
    ]);
    const s = createResponseScanner(set, ctx, { redacted });
    for (const c of chunks(`${EMAIL} `.repeat(30), 4)) expect(s.push(c).cut).toBe(false);
    expect(s.finish().matches).toEqual([
      { policy: 'try', rule: 'detect', action: 'deny', mode: 'shadow', detector: 'email', count: 30, applied: false },
      { policy: 'mask', rule: 'detect', action: 'redact', mode: 'enforce', detector: 'email', count: 30, applied: redacted },
    ]);
  });

  test('ignores policies that do not select the call', () => {
    const set = compile([{ name: 'other', match: { model: 'claude-*' }, detect: ['email'], action: 'deny' }]);
    const s = createResponseScanner(set, ctx);
    s.push(`${EMAIL} `.repeat(20));
    expect(s.finish()).toEqual({ cut: false, matches: [] });
  });

  // Timing is not tested; the work is: what each check reads is the new text plus a bounded
  // overlap (it was the last kilobyte of the answer, on every token).
  test.each([
    ['IPv6-like', '1:'],
    ['base64-like', 'aB3+xY9/'],
    ['one long word', 'a'],
    ['prose', 'hello world this is prose '],
  ] as const)('reads a bounded overlap per check on %s text in 4-character chunks', (_title, unit) => {
    const reads: number[] = [];
    const set = counting(compile([{ name: 'all', detect: ['email', 'phone', 'credit_card', 'iban', 'ip_address', 'api_key'], action: 'redact' }]), reads);
    const s = createResponseScanner(set, ctx, { redacted: true });
    const text = unit.repeat(Math.ceil(20_000 / unit.length));
    for (const c of chunks(text, 4)) {
      s.push(c);
      s.check();
    }
    s.finish();
    expect(Math.max(...reads)).toBeLessThanOrEqual(4 + 128 + 8);
  });

  const JWT =
    'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImFiYzEyMyJ9.eyJ' +
    'zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ'.repeat(5) +
    '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

  test.each([1, 4, 7])('cuts a JSON Web Token longer than the overlap as soon as it matches (chunks of %i)', (size) => {
    const set = compile([{ name: 'no-keys', detect: ['api_key'], action: 'deny', stage: 'post' }]);
    const s = createResponseScanner(set, ctx);
    const text = `${'word '.repeat(50)}token ${JWT} end`;
    const at = text.indexOf(JWT) + JWT.length - JWT.split('.')[2]!.length + 8;
    let cutAt = -1;
    let sent = 0;
    for (const c of chunks(text, size)) {
      sent += c.length;
      if (s.push(c).cut || s.check().cut) {
        cutAt = sent;
        break;
      }
    }
    expect(cutAt).toBeGreaterThanOrEqual(at);
    expect(cutAt).toBeLessThan(at + size);
  });

  test.each([1, 4])('counts a long key and a long token once, whatever their length (chunks of %i)', (size) => {
    const set = compile([{ name: 'watch', detect: ['api_key', 'email'], action: 'flag' }]);
    const s = createResponseScanner(set, ctx);
    const key = `sk-${'Ab3dEf6hIj9k'.repeat(40)}`;
    const text = `a ${key} b ${JWT}, ${EMAIL} ${'x'.repeat(300)} ${JWT}`;
    for (const c of chunks(text, size)) s.push(c);
    expect(s.finish().matches).toEqual([
      { policy: 'watch', rule: 'detect', action: 'flag', mode: 'enforce', detector: 'api_key', count: 3, applied: true },
      { policy: 'watch', rule: 'detect', action: 'flag', mode: 'enforce', detector: 'email', count: 1, applied: true },
    ]);
  });

  test('a run of digits longer than the overlap is no card, though its last 16 digits would be', () => {
    const set = compile([{ name: 'no-cards', detect: ['credit_card'], action: 'deny', stage: 'post' }]);
    const s = createResponseScanner(set, ctx);
    // 4111111111111111 is Luhn-valid; glued to the digits before it, it is not a card
    for (const c of chunks(`${'9'.repeat(200)}4111111111111111 `, 4)) expect(s.push(c).cut || s.check().cut).toBe(false);
    expect(s.finish().cut).toBe(false);
  });
});
