import type { ServerResponse } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { usageFromOpenai } from '@watchllm/providers';
import { errorBody, streamCutError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { writeRelayHead, writeSse } from '../http/respond.ts';
import { parseJson } from '../json.ts';
import { CompleteEvents } from '../stream/strip-usage.ts';
import { errorOf } from '../stream/tap.ts';
import { MEDIA_STREAM_END, mediaCostUsd } from './media.ts';
import { COST_HEADER, respondJson, usdText } from './respond-json.ts';

type JsonOptions = Parameters<typeof respondJson>[3];

/** Text answers (a transcript as `text`, `srt`, `vtt`) are kept for the event up to this size. */
const MAX_KEPT_TEXT = 1 << 20;

/**
 * The answer of a media endpoint, by what it is:
 * - speech: audio (`audio/mpeg`, `audio/wav`, raw `audio/pcm`), piped to the client as it arrives
 *   with its content-type; never buffered, never parsed, so the JSON guard (a non-JSON 200 from a
 *   wrong base_url is a 502) does not apply;
 * - an SSE stream (gpt-image-1 and gpt-4o-transcribe with `stream: true`, speech with
 *   `stream_format: "sse"`): passed on event by event, the last event's usage read beside it;
 * - JSON (moderations, images, a transcription's `json`/`verbose_json`): as any JSON answer
 *   (respond-json.ts: usage, answer policies, the cost header);
 * - text (a transcription's `text`, `srt`, `vtt`): piped like audio, with its content-type.
 */
export async function respondMedia(x: Exchange, res: ServerResponse, body: AsyncIterable<Buffer>, opts: JsonOptions & { keepBody: boolean }): Promise<void> {
  const type = opts.contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return mediaStream(x, res, body, opts);
  if (x.endpoint !== 'speech' && (type === '' || type.includes('json'))) {
    // Asked to stream, answered whole: OpenAI ignores `stream` where a model cannot stream (whisper-1;
    // translations take none) and answers JSON, which the client's SDK reads as such. It is passed
    // on as it came, and recorded as the unstreamed call it was.
    x.request.stream = false;
    return respondJson(x, res, body, opts);
  }
  return pipeAnswer(x, res, body, { ...opts, type });
}

/**
 * The content-type a relayed answer goes out with: the provider's when it is audio or a transcript
 * (text/plain, text/vtt, SubRip), else application/octet-stream. The gateway's origin also serves
 * the console: a hostile or broken OpenAI-compatible host answering text/html (or SVG, or
 * JavaScript) must not have a browser render it there. (writeRelayHead adds nosniff.)
 */
function relayedType(type: string, contentType: string): string {
  if (type.startsWith('audio/') || type === 'text/plain' || type === 'text/vtt' || type === 'application/x-subrip') return contentType;
  return 'application/octet-stream';
}

/**
 * A body passed on chunk by chunk (chunked: the gateway adds no content-length), honouring the
 * client's backpressure. What the event keeps is the text of a text answer, else a placeholder
 * (`[audio/mpeg: 48213 bytes]`): audio is never stored. A provider that stops mid-body cannot be
 * told in an audio stream: the connection is closed, so the client sees a cut response rather
 * than a short file it takes for whole.
 */
async function pipeAnswer(x: Exchange, res: ServerResponse, body: AsyncIterable<Buffer>, opts: JsonOptions & { keepBody: boolean; type: string }): Promise<void> {
  // Speech billed by the character costs what its input says before a byte of audio: the answer
  // says so, as its event records it (settleMediaCost), like a complete JSON answer.
  const cost = x.endpoint === 'speech' && opts.price ? mediaCostUsd(x, opts.price) : null;
  if (cost !== null) x.responseHeaders[COST_HEADER] = usdText(cost);
  // audio is played as it arrives: proxies in front must not hold it back either
  writeRelayHead(x, res, opts.headers, relayedType(opts.type, opts.contentType));
  const keepText = opts.keepBody && opts.type.startsWith('text/');
  const kept: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body) {
      x.response.firstByteAt ??= performance.now();
      bytes += chunk.length;
      if (keepText && bytes <= MAX_KEPT_TEXT) kept.push(chunk);
      const wait = writeSse(res, chunk);
      if (wait) await wait;
      // leaving the loop destroys the provider's body: nothing more is generated for nobody
      if (res.destroyed) break;
    }
    x.upstream.endedAt = performance.now();
  } catch {
    x.upstream.endedAt = performance.now();
    x.response.bytes = bytes;
    if (res.destroyed) {
      x.outcome = 'client_closed';
      return;
    }
    x.outcome = 'upstream_error';
    x.error = { type: 'upstream_stream_cut', message: `The provider's answer was cut after ${bytes} bytes.` };
    res.destroy();
    return;
  }
  x.response.bytes = bytes;
  x.response.body = keepText ? Buffer.concat(kept).toString('utf8') : `[${opts.type || 'no content-type'}: ${bytes} bytes]`;
  if (!res.writableEnded) res.end();
}

/**
 * An image or transcription stream: its bytes go to the client as they come, up to the end of their
 * last complete event (as respond-stream.ts's raw way), and a parser beside them reads the events
 * that matter: the first partial image or transcript delta (time to first token), the transcript
 * (stored), and the usage on the last event (`image_generation.completed`,
 * `transcript.text.done`). A stream that stops before it gets an error event the SDK raises.
 * Answer policies and strict budgets do not watch these streams (README, Policies).
 */
async function mediaStream(x: Exchange, res: ServerResponse, body: AsyncIterable<Buffer>, opts: JsonOptions & { keepBody: boolean }): Promise<void> {
  writeRelayHead(x, res, opts.headers);
  let terminal = false;
  let transcript = '';
  let events = 0;
  const parser = createParser({
    onEvent(ev: EventSourceMessage) {
      events++;
      const json = parseJson(ev.data);
      if (json === null || typeof json !== 'object') return;
      const o = json as Record<string, unknown>;
      const type = typeof o['type'] === 'string' ? o['type'] : ev.event;
      const error = o['error'];
      if (type === 'error' || (error !== null && typeof error === 'object')) {
        x.outcome = 'upstream_error';
        x.error = errorOf((error !== null && typeof error === 'object' ? error : o) as Record<string, unknown>);
        terminal = true;
        return;
      }
      if (type === 'transcript.text.delta' || type === 'image_generation.partial_image' || type === 'speech.audio.delta') x.response.firstTokenAt ??= performance.now();
      if (type === 'transcript.text.delta' && typeof o['delta'] === 'string') transcript += o['delta'];
      if (type !== undefined && MEDIA_STREAM_END.has(type)) {
        terminal = true;
        x.response.firstTokenAt ??= performance.now();
        if (typeof o['text'] === 'string') transcript = o['text'];
        const usage = usageFromOpenai(o['usage']);
        if (usage) {
          x.response.usage = usage;
          x.response.usageSource = 'provider';
        }
      }
    },
  });
  const decoder = new TextDecoder();
  const complete = new CompleteEvents();
  let bytes = 0;
  let cause: unknown = null;
  try {
    for await (const chunk of body) {
      const whole = complete.push(chunk);
      if (whole === null) continue;
      x.response.firstByteAt ??= performance.now();
      bytes += whole.length;
      const wait = writeSse(res, whole);
      parser.feed(decoder.decode(whole, { stream: true }));
      if (wait) await wait;
      if (res.destroyed) break;
    }
    x.upstream.endedAt = performance.now();
  } catch (e) {
    x.upstream.endedAt = performance.now();
    cause = e;
  }
  x.response.bytes = bytes;
  // a transcript is text to keep; images and speech events carry base64 pictures and audio: never stored
  if (x.endpoint === 'speech') x.response.body = `[speech events: ${bytes} bytes]`;
  else if (opts.keepBody && x.endpoint !== 'images') x.response.body = transcript;
  if (res.destroyed) {
    if (!terminal) x.outcome = 'client_closed';
    return;
  }
  if (!terminal) {
    // the gateway's shutdown, an idle provider or a cut, told apart as in every other stream
    const err = streamCutError(cause, events);
    x.outcome = err.outcome;
    x.error = { type: err.code!, message: err.message };
    res.write(`data: ${JSON.stringify(errorBody(err, 'openai'))}\n\n`);
  }
  res.end();
}
