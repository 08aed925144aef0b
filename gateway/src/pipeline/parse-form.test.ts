import { describe, expect, test } from 'vitest';
import { GatewayError } from '../errors.ts';
import { createExchange } from '../exchange.ts';
import { MAX_FORM_PARTS, parseForm } from './parse-form.ts';

const BOUNDARY = '----watchllm-test';
const CT = `multipart/form-data; boundary=${BOUNDARY}`;
const audio = Buffer.from([0x52, 0x49, 0x46, 0x46, 0x00, 0xff, 0x0d, 0x0a]);

function form(fields: Array<[string, string]>, file = true): Buffer {
  const parts: Buffer[] = fields.map(([k, v]) => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) {
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`), audio, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

const exchange = () => createExchange({ id: 'r1', surface: 'openai', endpoint: 'transcriptions', method: 'POST', path: '/v1/audio/transcriptions', ip: null, userAgent: null, now: 0, t0: 0 });

async function refusal(raw: Buffer, contentType: string): Promise<GatewayError> {
  const e = await parseForm(exchange(), raw, contentType).then(() => null, (err: unknown) => err);
  if (!(e instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(e)}`);
  return e;
}

describe('parseForm', () => {
  test('reads the model, stream and text fields; keeps the bytes; stores the file as a placeholder', async () => {
    const x = exchange();
    const raw = form([['model', 'gpt-4o-transcribe'], ['stream', 'true'], ['prompt', 'names: Ada'], ['include[]', 'logprobs'], ['include[]', 'x']]);
    await parseForm(x, raw, CT);
    expect(x.request).toMatchObject({ model: 'gpt-4o-transcribe', stream: true, bytes: raw.length });
    expect(x.request.body).toEqual({ model: 'gpt-4o-transcribe', stream: 'true', prompt: 'names: Ada', 'include[]': ['logprobs', 'x'] });
    expect(x.request.form).toEqual({ bytes: raw, contentType: CT });
    expect(JSON.parse(x.request.raw!)).toMatchObject({ file: `[file: a.wav, audio/wav, ${audio.length} bytes]` });
    expect(x.request.raw).not.toContain('RIFF');
  });

  test.each([
    ['no model', form([]), CT, 'missing_model', 'model'],
    ['an empty model', form([['model', '']]), CT, 'missing_model', 'model'],
    ['a model with a .. segment', form([['model', 'a/../b']]), CT, 'invalid_request', 'model'],
    ['JSON instead of a form', Buffer.from('{"model":"whisper-1"}'), 'application/json', 'invalid_request', null],
    ['a form that does not parse', Buffer.from('garbage'), CT, 'invalid_request', null],
  ] as const)('%s is a 400', async (_name, raw, ct, code, param) => {
    const e = await refusal(raw, ct);
    expect(e).toMatchObject({ status: 400, code, param });
  });
});

describe('parseForm against a body of many parts', () => {
  test(`a form of more than ${MAX_FORM_PARTS} parts is a 400 before it is parsed, however they are named`, async () => {
    const many = form([['model', 'whisper-1'], ...Array.from({ length: 20_000 }, () => ['a', 'x'] as [string, string])]);
    const e = await refusal(many, CT);
    expect(e).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(e.message).toContain(`at most ${MAX_FORM_PARTS} parts`);
    // a quoted boundary is read the same
    expect(await refusal(many, `multipart/form-data; boundary="${BOUNDARY}"`)).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  test('a name sent many times (within the limit) becomes one list, in order', async () => {
    const x = exchange();
    await parseForm(x, form([['model', 'whisper-1'], ...Array.from({ length: 90 }, (_, i) => ['timestamp_granularities[]', `g${i}`] as [string, string])]), CT);
    const list = x.request.body!['timestamp_granularities[]'] as string[];
    expect(list).toHaveLength(90);
    expect([list[0], list[89]]).toEqual(['g0', 'g89']);
  });
});
