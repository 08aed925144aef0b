/**
 * Server-sent events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html)
 * and the stream writer that plays a list of frames with the scenario's pacing, drops and aborts.
 */
import { sleep, type Ctx } from './http.ts';

/** One unit written to the socket. `content` marks a content delta (counted by `dropAfterChunks`). */
export interface Frame {
  data: string;
  content: boolean;
}

/** `data: <json>\n\n` — OpenAI chat/completions style (no event names). */
export function dataFrame(payload: unknown, content = false): Frame {
  return { data: `data: ${JSON.stringify(payload)}\n\n`, content };
}

/** `event: <name>\ndata: <json>\n\n` — Anthropic and the OpenAI Responses API. */
export function eventFrame(event: string, payload: unknown, content = false): Frame {
  return { data: `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`, content };
}

export const DONE_FRAME: Frame = { data: 'data: [DONE]\n\n', content: false };

/** JSON as Python's json.dumps writes it by default: `": "` and `", "` between members and items. */
export function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const members = Object.entries(v).filter(([, x]) => x !== undefined);
    return `{${members.map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

/** `data:` frames rewritten with pythonJson, as an OpenAI-compatible host on Python may send them. */
export function pythonSpaced(frames: Frame[]): Frame[] {
  return frames.map((f) => {
    const m = /^data: (\{.*\})\n\n$/s.exec(f.data);
    return m ? { ...f, data: `data: ${pythonJson(JSON.parse(m[1]!))}\n\n` } : f;
  });
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

/**
 * Cuts `frames` after the Nth content frame and appends `errorFrames` instead of the rest: a
 * provider's in-stream error (the HTTP status stays 200, as it does upstream).
 */
export function withMidStreamError<F extends { content: boolean }>(frames: F[], afterChunks: number, errorFrames: F[]): F[] {
  const out: F[] = [];
  let content = 0;
  for (const f of frames) {
    if (f.content) {
      if (content >= afterChunks) break;
      content++;
    }
    out.push(f);
  }
  // The preamble frames before the first content frame are kept even for afterChunks 0.
  return [...out, ...errorFrames];
}

/** The frames up to the Nth content frame (the preamble before the first one included). */
function untilContent(frames: Frame[], n: number): Frame[] {
  const out: Frame[] = [];
  let content = 0;
  for (const f of frames) {
    if (content >= n && (f.content || content > 0)) break;
    out.push(f);
    if (f.content) content++;
  }
  return out;
}

/**
 * Writes status, headers and frames. With no pacing and no drop the body goes out in one write
 * (the benchmark path). `dropAfterChunks: N` destroys the socket once N content frames are on the
 * wire and before anything else is written (for N = 0: before the first content frame).
 */
export async function streamFrames(ctx: Ctx, headers: Record<string, string>, all: Frame[]): Promise<void> {
  if (ctx.closed) return;
  const { res, scenario } = ctx;
  const frames = scenario.endAfterChunks === undefined ? all : untilContent(all, scenario.endAfterChunks);
  const delay = scenario.chunkDelayMs ?? 0;
  const drop = scenario.dropAfterChunks;
  ctx.call.status = 200;
  res.writeHead(200, headers);
  if (delay <= 0 && drop === undefined) {
    let body = '';
    for (const f of frames) body += f.data;
    res.end(body);
    return;
  }
  res.flushHeaders();
  let content = 0;
  let flushed: Promise<void> = Promise.resolve();
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (!f) continue;
    if (drop !== undefined && content === drop && (content > 0 || f.content)) {
      await flushed;
      ctx.call.dropped = true;
      res.destroy();
      return;
    }
    if (i > 0) await sleep(ctx, delay);
    if (ctx.closed) return;
    flushed = new Promise((resolve) => res.write(f.data, () => resolve()));
    if (f.content) content++;
  }
  if (drop !== undefined && content === drop && content > 0) {
    await flushed;
    ctx.call.dropped = true;
    res.destroy();
    return;
  }
  res.end();
}
