import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';

/**
 * An OpenAI-compatible host that answers a media call with a web page: the gateway relays audio and
 * transcripts as they come, but its origin also serves the console, so what a browser would render
 * (text/html, SVG, JavaScript) goes out as application/octet-stream, and every relayed body says
 * nosniff.
 */
let host: Server;
let s: Stack;
const PAGE = '<html><script>document.title = "pwned"</script></html>';

beforeAll(async () => {
  host = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const type = req.url?.includes('speech') ? 'text/html; charset=utf-8' : 'image/svg+xml';
      res.writeHead(200, { 'content-type': type });
      res.end(PAGE);
    });
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/v1`;
  s = await startStack({ yaml: `providers:\n  odd-host: { kind: openai-compatible, base_url: "${url}", keyless: true, models: ["odd-*"] }\n` });
});
afterAll(async () => {
  await s.close();
  await new Promise((r) => host.close(r));
});

describe('a host answering a media call with something a browser would render', () => {
  test('speech answered as text/html goes out as application/octet-stream, nosniff', async () => {
    const r = await fetch(`${s.url}/v1/audio/speech`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'odd-tts', voice: 'alloy', input: 'hi' }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toBe(PAGE);
  });

  test('a transcription answered as SVG too', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('RIFF')], { type: 'audio/wav' }), 'a.wav');
    form.append('model', 'odd-whisper');
    const r = await fetch(`${s.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
