import { describe, expect, test } from 'vitest';
import { createExchange } from '../exchange.ts';
import { clientIp, readMeta, traceParent, utf8 } from './headers.ts';

/** What Node's HTTP parser hands over for a header sent as UTF-8 bytes: one char per byte (latin1). */
const asReceived = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

function meta(headers: Record<string, string | string[]>) {
  const x = createExchange({ id: 'r1', surface: 'openai', endpoint: 'chat', method: 'POST', path: '/', ip: null, userAgent: null, now: 0, t0: 0 });
  readMeta(x, headers);
  return x.meta;
}

describe('readMeta: metadata headers in UTF-8', () => {
  test('user, session and properties sent as UTF-8 are recorded as written', () => {
    const m = meta({
      'x-watchllm-user': asReceived('José é€'),
      'x-watchllm-session': asReceived('会话-1'),
      'x-watchllm-property-team': asReceived('Ünïcode 🚀'),
    });
    expect(m).toEqual({ user: 'José é€', session: '会话-1', traceId: null, spanId: null, properties: { team: 'Ünïcode 🚀' } });
  });

  test('a value that is not valid UTF-8 is kept as the latin1 the client sent', () => {
    // 0xE9 alone ("é" in latin1) is no UTF-8 sequence.
    expect(meta({ 'x-watchllm-user': 'Jos\u00e9' }).user).toBe('José');
  });

  test('ASCII values are untouched, and empty ones are absent', () => {
    expect(meta({ 'x-watchllm-user': 'u-42', 'x-watchllm-session': '' })).toMatchObject({ user: 'u-42', session: null });
  });

  test('long values are cut at 256 characters after decoding, never inside a character', () => {
    const m = meta({ 'x-watchllm-user': asReceived('é'.repeat(300)), 'x-watchllm-session': asReceived('a' + '🚀'.repeat(200)) });
    expect(m.user).toBe('é'.repeat(256));
    expect(m.session).toBe('a' + '🚀'.repeat(127));
  });
});

describe('trace: traceparent (W3C Trace Context) and x-watchllm-trace-id', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';

  test("OpenTelemetry's traceparent gives the trace and the calling span", () => {
    expect(meta({ traceparent: `00-${TRACE}-${SPAN}-01` })).toMatchObject({ traceId: TRACE, spanId: SPAN });
    // sampled or not, it is the same trace
    expect(traceParent(`00-${TRACE}-${SPAN}-00`)).toEqual({ traceId: TRACE, spanId: SPAN });
    // a later version may append fields; version 00 may not
    expect(traceParent(`01-${TRACE}-${SPAN}-01-extra`)).toEqual({ traceId: TRACE, spanId: SPAN });
  });

  test.each([
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['fields after version 00', `00-${TRACE}-${SPAN}-01-extra`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['no flags', `00-${TRACE}-${SPAN}`],
  ])('%s is ignored, as the spec asks: no trace recorded', (_, value) => {
    expect(meta({ traceparent: value })).toMatchObject({ traceId: null, spanId: null });
  });

  test('x-watchllm-trace-id names the trace in any form (an app without OpenTelemetry), ahead of traceparent', () => {
    expect(meta({ 'x-watchllm-trace-id': 'agent-run-42' })).toMatchObject({ traceId: 'agent-run-42', spanId: null });
    // the span of another trace would link the call to the wrong place: left out
    expect(meta({ 'x-watchllm-trace-id': 'agent-run-42', traceparent: `00-${TRACE}-${SPAN}-01` })).toMatchObject({ traceId: 'agent-run-42', spanId: null });
    expect(meta({ 'x-watchllm-trace-id': TRACE, traceparent: `00-${TRACE}-${SPAN}-01` })).toMatchObject({ traceId: TRACE, spanId: SPAN });
  });
});

describe('utf8', () => {
  test.each([
    ['ascii', 'plain', 'plain'],
    ['two- and three-byte sequences', asReceived('é€'), 'é€'],
    ['invalid UTF-8 (latin1 text)', 'caf\u00e9 cr\u00e8me', 'café crème'],
    ['a truncated sequence', asReceived('€').slice(0, 2), asReceived('€').slice(0, 2)],
  ])('%s', (_name, input, expected) => {
    expect(utf8(input)).toBe(expected);
  });
});

describe('clientIp', () => {
  const peer = '10.0.0.2'; // the proxy, as the socket sees it

  test('without trust_proxy, the socket peer: x-forwarded-for is anyone\'s to write', () => {
    expect(clientIp(peer, { 'x-forwarded-for': '203.0.113.7' }, 0)).toBe(peer);
  });

  test.each([
    ['the entry the proxy set', '203.0.113.7', '203.0.113.7'],
    // the client sent x-forwarded-for: 6.6.6.6 and the proxy appended the address it saw
    ['the right-most entry, never one the client wrote', '6.6.6.6, 203.0.113.7', '203.0.113.7'],
    ['the right-most entry after a long forged list', `${'6.6.6.6, '.repeat(60)}203.0.113.7`, '203.0.113.7'],
    ['the right-most entry of repeated headers', ['6.6.6.6', '203.0.113.7'], '203.0.113.7'],
    ['IPv6', '6.6.6.6,2001:db8::1', '2001:db8::1'],
    ['the peer when the proxy added nothing', '6.6.6.6, ', peer],
    ['the peer without the header', undefined, peer],
  ] as const)('with trust_proxy: %s', (_name, xff, expected) => {
    const h = xff === undefined ? {} : { 'x-forwarded-for': xff as string | string[] };
    expect(clientIp(peer, h, 1)).toBe(expected);
  });

  test.each([
    // a CDN then nginx: the CDN appended the client it saw, nginx the CDN
    ['the entry the outer proxy added', '198.51.100.9, 203.0.113.7', '198.51.100.9'],
    ['never one the client wrote', '6.6.6.6, 198.51.100.9, 203.0.113.7', '198.51.100.9'],
    // reached nginx without the CDN: the left-most entry there is, nginx's
    ['the left-most entry when fewer proxies were passed', '203.0.113.7', '203.0.113.7'],
  ] as const)('with trust_proxy: 2, %s', (_name, xff, expected) => {
    expect(clientIp(peer, { 'x-forwarded-for': xff }, 2)).toBe(expected);
  });
});
